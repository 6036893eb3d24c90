//! The message protocol (`{"MESSAGE_NAME", "DATA"}`): HTTP 200 with the outcome in the
//! envelope's CODE and STATUS, except while DataSpace is unavailable: then HTTP 503 (CODE 503),
//! so that a platform retrying on status does not take a record that was not stored for done.

use super::FunctionResponse;
use crate::domain::logger_info::LoggerInfo;
use crate::service::{LogbotService, ServiceError};
use axum::http::StatusCode;
use serde_json::{Value, json};

fn envelope(name: &str, code: u16, data: Value) -> FunctionResponse {
    let status = if code == 503 {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    FunctionResponse::json(
        status,
        &json!({"CODE": code, "DATA": data, "MESSAGE_NAME": name, "STATUS": code == 200}),
    )
}

pub async fn handle(service: &LogbotService, body: &Value) -> FunctionResponse {
    let name = body
        .get("MESSAGE_NAME")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match name {
        "LOGGER_INFO" => logger_info(service, body.get("DATA")).await,
        "" => envelope(
            "",
            400,
            json!({"desc": "MESSAGE_NAME must be a non-empty string"}),
        ),
        other => envelope(
            other,
            400,
            json!({"desc": format!("unknown MESSAGE_NAME {other:?}; supported: LOGGER_INFO")}),
        ),
    }
}

async fn logger_info(service: &LogbotService, data: Option<&Value>) -> FunctionResponse {
    const NAME: &str = "LOGGER_INFO";
    let Some(data) = data.and_then(Value::as_object) else {
        return envelope(
            NAME,
            400,
            json!({"desc": "DATA must be an object with log_info and bot_type"}),
        );
    };
    let Some(bot) = data
        .get("bot_type")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|bot| !bot.is_empty())
    else {
        return envelope(
            NAME,
            400,
            json!({"desc": "DATA.bot_type: missing or not a string"}),
        );
    };
    let Some(log_info) = data.get("log_info").and_then(Value::as_str) else {
        return envelope(
            NAME,
            400,
            json!({"desc": "DATA.log_info: missing or not a string"}),
        );
    };
    let info = match LoggerInfo::parse(log_info) {
        Ok(info) => info,
        Err(error) => return envelope(NAME, 400, json!({"desc": format!("DATA.{error}")})),
    };
    let level = info.level();
    let record = match info.into_record() {
        Ok(record) => record,
        Err(error) => return envelope(NAME, 400, json!({"desc": format!("DATA.{error}")})),
    };
    match service.ingest(bot, vec![record], None).await {
        Ok(ingested) => envelope(
            NAME,
            200,
            json!({"desc": "log record added", "id": ingested.ids.first(), "level": level.as_str()}),
        ),
        Err(ServiceError::NotFound { .. }) => envelope(
            NAME,
            404,
            json!({"desc": format!("bot - {bot} is not exist.")}),
        ),
        Err(ServiceError::InvalidInput { field, message }) => {
            envelope(NAME, 400, json!({"desc": format!("{field}: {message}")}))
        }
        Err(error @ ServiceError::Unavailable) => {
            envelope(NAME, 503, json!({"desc": error.to_string()}))
        }
        Err(error) => {
            tracing::error!(%error, "LOGGER_INFO failed");
            envelope(NAME, 500, json!({"desc": error.to_string()}))
        }
    }
}
