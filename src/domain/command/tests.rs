//! The command grammar's tests, beside it: every command, its errors, and that no token is
//! echoed.

use super::*;

#[test]
fn redacted_text_shows_no_token() {
    assert_eq!(
        redacted("/42 | squat | 123:abcdefgh | squat-token-1 | register"),
        "/42 | squat | *** | *** | register"
    );
    assert_eq!(
        redacted("[club1|@bot] sub-token-123 | subscription"),
        "/*** | subscription"
    );
    // Malformed: nothing but a known action word is shown.
    assert_eq!(
        redacted("!42 | squat | 123:abcdefgh | register"),
        "/*** | *** | *** | register"
    );
    assert_eq!(redacted("/sub-token-123 | subscribtion"), "/*** | ***");
    assert_eq!(redacted("/help"), "/help");
}

const TOKEN: &str = "sub-token-123";

fn token(text: &str) -> AuthToken {
    AuthToken::parse(text).unwrap()
}

#[test]
fn parses_register() {
    let cmd = Command::parse("42 | df | 123456:ABC-def | new-auth-token | register").unwrap();
    assert_eq!(
        cmd,
        Command::Register {
            auth_uid: Uid::parse("42").unwrap(),
            bot_name: BotName::parse("df").unwrap(),
            bot_token: BotToken::parse("123456:ABC-def").unwrap(),
            auth_token: token("new-auth-token"),
        }
    );
    assert_eq!(cmd.action(), CommandAction::Register);
    assert_eq!(cmd.auth_token(), Some(&token("new-auth-token")));
}

#[test]
fn parses_token_commands() {
    let table = [
        ("sub-token-123 | subscription", CommandAction::Subscribe),
        ("sub-token-123|subscribe", CommandAction::Subscribe),
        ("sub-token-123 | SUBSCRIPTION", CommandAction::Subscribe),
        ("sub-token-123 | unsubscribe", CommandAction::Unsubscribe),
        ("sub-token-123 | Status", CommandAction::Status),
    ];
    for (text, action) in table {
        let cmd = Command::parse(text).unwrap();
        assert_eq!(cmd.action(), action, "{text}");
        assert_eq!(cmd.auth_token(), Some(&token(TOKEN)), "{text}");
    }
    assert_eq!(
        Command::parse("sub-token-123 | status").unwrap(),
        Command::Status {
            auth_token: token(TOKEN)
        }
    );
}

#[test]
fn parses_help() {
    for text in [
        "help",
        "HELP",
        " Help ",
        "/help",
        "!help",
        "/start",
        "/help@LoggerBot",
        "help |",
    ] {
        assert_eq!(Command::parse(text), Ok(Command::Help), "{text:?}");
    }
    assert_eq!(Command::Help.auth_token(), None);
}

#[test]
fn tolerates_white_space_case_and_prefixes() {
    let want = Command::Subscribe {
        auth_token: token(TOKEN),
    };
    for text in [
        "sub-token-123|subscription",
        "   sub-token-123   |   subscription   ",
        "\tsub-token-123\t|\tSubScription\n",
        "/sub-token-123 | subscription",
        "!sub-token-123 | subscription",
        "/ sub-token-123 | subscription",
        "sub-token-123 | subscription@LoggerBot",
        "sub-token-123 | subscription |",
        "sub-token-123 | subscription | | ",
        "[club123|@loggerbot] sub-token-123 | subscription",
        "[club123|Logger Bot], sub-token-123 | subscription",
        "[public7|bot] /sub-token-123 | subscribe",
    ] {
        assert_eq!(Command::parse(text), Ok(want.clone()), "{text:?}");
    }
}

#[test]
fn only_one_leading_prefix_is_removed() {
    // A token may itself start with `/` or `!` after the first is stripped.
    assert_eq!(
        Command::parse("//tokentoken | status").unwrap(),
        Command::Status {
            auth_token: token("/tokentoken")
        }
    );
}

#[test]
fn unicode_fields() {
    let cmd = Command::parse("Иван | my_bot | 1:ключ | секретный-токен | register").unwrap();
    match cmd {
        Command::Register {
            auth_uid,
            auth_token,
            bot_token,
            ..
        } => {
            assert_eq!(auth_uid.as_str(), "Иван");
            assert_eq!(auth_token.expose_secret(), "секретный-токен");
            assert_eq!(bot_token.expose_secret(), "1:ключ");
        }
        other => panic!("{other:?}"),
    }
    // Unicode bot names are refused with the field named as in the usage.
    let err = Command::parse("1 | бот | t | secret-token | register").unwrap_err();
    assert!(err.to_string().starts_with("bot name: "), "{err}");
}

#[test]
fn empty_commands() {
    for text in ["", "   ", "/", "!", " / ", "|", " | | ", "[club1|bot]"] {
        assert_eq!(Command::parse(text), Err(CommandError::Empty), "{text:?}");
    }
    assert_eq!(
        CommandError::Empty.to_string(),
        "empty command; send help to see the commands"
    );
}

#[test]
fn unknown_actions() {
    for text in [
        "subscriptions",
        "token | subscrption",
        "token | register | extra",
        "hello there",
        "sub-token-123",
        "help me",
        "| token",
    ] {
        assert_eq!(
            Command::parse(text),
            Err(CommandError::UnknownAction),
            "{text:?}"
        );
    }
}

#[test]
fn unknown_action_does_not_echo_the_text() {
    // Someone sending their token alone must not see it (or log it) again.
    let err = Command::parse("my-precious-token").unwrap_err();
    assert!(!err.to_string().contains("precious"));
    assert!(!format!("{err:?}").contains("precious"));
}

#[test]
fn wrong_field_counts() {
    let err = Command::parse("df | token | register").unwrap_err();
    assert_eq!(
        err,
        CommandError::WrongFieldCount {
            action: CommandAction::Register,
            got: 3
        }
    );
    assert_eq!(
        err.to_string(),
        "register needs 5 fields: auth_uid | bot name | bot token | auth token | register"
    );
    assert!(matches!(
        Command::parse("a | b | c | d | e | register"),
        Err(CommandError::WrongFieldCount { got: 6, .. })
    ));
    assert_eq!(
        Command::parse("subscription").unwrap_err().to_string(),
        "subscription needs 2 fields: auth token | subscription"
    );
    assert_eq!(
        Command::parse("a | b | subscribe").unwrap_err().to_string(),
        "subscription needs 2 fields: auth token | subscription"
    );
    assert_eq!(
        Command::parse("x | y | unsubscribe")
            .unwrap_err()
            .to_string(),
        "unsubscribe needs 2 fields: auth token | unsubscribe"
    );
    assert_eq!(
        Command::parse("x | y | status").unwrap_err().to_string(),
        "status needs 2 fields: auth token | status"
    );
    assert_eq!(
        Command::parse("sub-token-123 | help")
            .unwrap_err()
            .to_string(),
        "help takes no fields: just send help"
    );
}

#[test]
fn invalid_fields_name_the_field() {
    let table = [
        ("| subscription", "auth token: must not be empty"),
        (
            "short | subscription",
            "auth token: must be at least 8 characters, got 5 characters",
        ),
        (
            "two words-token | status",
            "auth token: must not contain white space or control characters",
        ),
        (
            " | df | t | secret-token | register",
            "auth_uid: must not be empty",
        ),
        (
            "1 | my bot | t | secret-token | register",
            "bot name: may only contain letters A-Z and a-z, digits, '_', '.' and '-'",
        ),
        (
            "1 | df |  | secret-token | register",
            "bot token: must not be empty",
        ),
        (
            "1 | df | t | short | register",
            "auth token: must be at least 8 characters, got 5 characters",
        ),
    ];
    for (text, reply) in table {
        let err = Command::parse(text).unwrap_err();
        assert!(matches!(err, CommandError::InvalidField { .. }), "{text:?}");
        assert_eq!(err.to_string(), reply, "{text:?}");
    }
    let long_name = "b".repeat(65);
    let err =
        Command::parse(&format!("1 | {long_name} | t | secret-token | register")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "bot name: must be at most 64 characters, got 65 characters"
    );
}

#[test]
fn debug_never_shows_tokens() {
    let cmd =
        Command::parse("42 | df | 999:bot-secret-value | auth-secret-value | register").unwrap();
    let debug = format!("{cmd:?} {cmd:#?}");
    assert!(!debug.contains("bot-secret-value"), "{debug}");
    assert!(!debug.contains("auth-secret-value"), "{debug}");
    assert!(debug.contains("df") && debug.contains("42"), "{debug}");

    let sub = Command::parse("auth-secret-value | subscription").unwrap();
    assert!(!format!("{sub:?}").contains("auth-secret-value"));

    // Errors about a token's shape do not repeat it either.
    let err = Command::parse("secret with spaces | status").unwrap_err();
    assert!(!format!("{err} {err:?}").contains("secret with"), "{err:?}");
    let err = Command::parse("42 | df | bot secret | auth-secret-value | register").unwrap_err();
    assert!(!format!("{err} {err:?}").contains("bot secret"), "{err:?}");
}

#[test]
fn action_words() {
    for action in CommandAction::ALL {
        assert_eq!(CommandAction::parse(action.as_str()), Some(action));
        if action.usage().starts_with('/') {
            // A chat control: words, not `|` fields.
            assert!(action.usage().contains(action.as_str()));
            continue;
        }
        assert!(action.usage().ends_with(action.as_str()));
        assert_eq!(action.usage().split('|').count(), action.field_count());
    }
    assert_eq!(
        CommandAction::parse("Subscribe"),
        Some(CommandAction::Subscribe)
    );
    assert_eq!(
        CommandAction::parse("status@bot"),
        Some(CommandAction::Status)
    );
    assert_eq!(CommandAction::parse("stat"), None);
    assert_eq!(CommandAction::parse(""), None);
}

#[test]
fn vk_mention_detection() {
    assert_eq!(strip_vk_mention("[club1|x] rest"), Some(" rest"));
    assert_eq!(strip_vk_mention("[id42|Ivan]help"), Some("help"));
    assert_eq!(strip_vk_mention("[club|x] rest"), None);
    assert_eq!(strip_vk_mention("[clubx1|x] rest"), None);
    assert_eq!(strip_vk_mention("[token] | status"), None);
    assert_eq!(strip_vk_mention("club1|x] rest"), None);
}

#[test]
fn parses_chat_controls() {
    let control = |text: &str| match Command::parse(text) {
        Ok(Command::Control(control)) => control,
        other => panic!("{text:?}: {other:?}"),
    };
    assert_eq!(control("/unsubscribe"), ChatControl::Unsubscribe);
    assert_eq!(control("/unsubscribe@LoggerBot"), ChatControl::Unsubscribe);
    assert_eq!(control("/status"), ChatControl::Status);
    assert_eq!(
        control("/level WARNING"),
        ChatControl::Level(LogLevel::Warning)
    );
    assert_eq!(
        control("/level@bot error"),
        ChatControl::Level(LogLevel::Error)
    );
    assert_eq!(
        control("/mute 1h"),
        ChatControl::Mute(Duration::from_secs(3600))
    );
    assert_eq!(
        control("/mute 30m"),
        ChatControl::Mute(Duration::from_secs(1800))
    );
    assert_eq!(
        control("/mute 2d"),
        ChatControl::Mute(Duration::from_secs(2 * 86_400))
    );
    assert_eq!(control("/unmute"), ChatControl::Unmute);
    let loud = Command::parse("/level LOUD").unwrap_err().to_string();
    assert!(loud.starts_with("level: unknown level"), "{loud}");
    for text in ["/mute", "/mute 1h 2h", "/level", "/unmute now"] {
        assert!(
            matches!(
                Command::parse(text),
                Err(CommandError::WrongFieldCount { .. })
            ),
            "{text}"
        );
    }
    for text in [
        "/mute 10s",
        "/mute 31d",
        "/mute soon",
        "/mute 99999999999999999999d",
    ] {
        assert!(
            matches!(Command::parse(text), Err(CommandError::InvalidField { .. })),
            "{text}"
        );
    }
    // The token grammar is unchanged.
    assert!(matches!(
        Command::parse("tok-en-123 | status"),
        Ok(Command::Status { .. })
    ));
}
