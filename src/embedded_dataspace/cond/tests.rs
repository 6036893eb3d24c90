use super::*;

struct TestColumns;

impl ColumnResolver for TestColumns {
    fn column(&self, path: &[&str]) -> Option<Column> {
        use ColumnType::*;
        let (sql, ty) = match path {
            ["name"] => ("\"name\"", Text),
            ["title"] => ("\"title\"", Text),
            ["count"] => ("\"count\"", Integer),
            ["score"] => ("\"score\"", Real),
            ["bot"] => ("\"bot\"", Boolean),
            ["active"] => ("\"active\"", Boolean),
            ["createdAt"] => ("\"createdAt\"", DateTime),
            ["$id"] => ("\"id\"", Id),
            ["source"] => ("\"source\"", Reference),
            ["source", "userName"] => ("\"source_userName\"", Text),
            ["meta"] => ("\"meta\"", Json),
            _ => return None,
        };
        Some(Column {
            sql: sql.to_string(),
            ty,
        })
    }
}

fn translate_with(cond: &str, placeholders: &HashMap<String, Literal>) -> Result<SqlFragment> {
    translate_cond(cond, placeholders, &TestColumns)
}

fn ok(cond: &str) -> (String, Vec<SqlValue>) {
    match translate_with(cond, &HashMap::new()) {
        Ok(fragment) => (fragment.sql, fragment.params),
        Err(e) => panic!("{cond:?} failed: {e}"),
    }
}

fn sql(cond: &str) -> String {
    ok(cond).0
}

fn fail(cond: &str) -> CondError {
    translate_with(cond, &HashMap::new()).expect_err(cond)
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.to_string())
}

#[test]
fn comparison_operators() {
    let cases = [
        ("==", "="),
        ("!=", "!="),
        ("<", "<"),
        ("<=", "<="),
        (">", ">"),
        (">=", ">="),
    ];
    for (op, sql_op) in cases {
        let (sql, params) = ok(&format!("it.count {op} 5"));
        assert_eq!(sql, format!("(\"count\" {sql_op} ?)"));
        assert_eq!(params, vec![SqlValue::Integer(5)]);
    }
    assert_eq!(ok("it.name == 'bob'").1, vec![text("bob")]);
    assert_eq!(
        sql("it.source.userName == 'x'"),
        "(\"source_userName\" = ?)"
    );
    assert_eq!(sql("it . name=='x'"), "(\"name\" = ?)");
}

#[test]
fn literal_on_the_left_is_flipped() {
    assert_eq!(sql("5 < it.count"), "(\"count\" > ?)");
    assert_eq!(sql("5 >= it.count"), "(\"count\" <= ?)");
    assert_eq!(sql("'x' == it.name"), "(\"name\" = ?)");
}

#[test]
fn logic_precedence_and_parentheses() {
    assert_eq!(
        sql("it.bot && it.active"),
        "((\"bot\" = 1) AND (\"active\" = 1))"
    );
    assert_eq!(
        sql("it.bot || it.active && it.count == 1"),
        "((\"bot\" = 1) OR ((\"active\" = 1) AND (\"count\" = ?)))"
    );
    assert_eq!(
        sql("(it.bot || it.active) && it.count == 1"),
        "(((\"bot\" = 1) OR (\"active\" = 1)) AND (\"count\" = ?))"
    );
    assert_eq!(
        sql("!(it.count == 1 || it.bot)"),
        "(NOT ((\"count\" = ?) OR (\"bot\" = 1)))"
    );
    assert_eq!(sql("!it.count == 1"), "(NOT (\"count\" = ?))");
    assert_eq!(sql("((it.bot))"), "(\"bot\" = 1)");
    assert_eq!(
        sql("it.bot && it.bot && it.bot"),
        "((\"bot\" = 1) AND (\"bot\" = 1) AND (\"bot\" = 1))"
    );
}

#[test]
fn null_handling() {
    assert_eq!(sql("it.name == null"), "(\"name\" IS NULL)");
    assert_eq!(sql("it.name != null"), "(\"name\" IS NOT NULL)");
    assert_eq!(sql("null == it.count"), "(\"count\" IS NULL)");
    assert_eq!(sql("it.meta != null"), "(\"meta\" IS NOT NULL)");
    assert!(ok("it.meta == null").1.is_empty());
}

#[test]
fn boolean_fields() {
    assert_eq!(sql("it.bot"), "(\"bot\" = 1)");
    assert_eq!(sql("!it.bot"), "(NOT (\"bot\" = 1))");
    assert_eq!(sql("!!it.bot"), "(NOT (NOT (\"bot\" = 1)))");
    assert_eq!(ok("it.bot == false").1, vec![SqlValue::Integer(0)]);
    assert_eq!(ok("it.bot != true").1, vec![SqlValue::Integer(1)]);
    assert_eq!(sql("it.bot == it.active"), "(\"bot\" = \"active\")");
}

#[test]
fn like_and_in() {
    let (sql_text, params) = ok("it.name $like 'a%_'");
    assert_eq!(sql_text, "(\"name\" LIKE ? ESCAPE '\\')");
    assert_eq!(params, vec![text("a%_")]);
    // An unknown escape keeps its backslash, ready for ESCAPE '\'.
    assert_eq!(ok(r"it.name $like '100\%'").1, vec![text(r"100\%")]);

    let (sql_text, params) = ok("it.name $in ['a', 'b']");
    assert_eq!(sql_text, "(\"name\" IN (?, ?))");
    assert_eq!(params, vec![text("a"), text("b")]);
    assert_eq!(
        ok("it.score $in [1, 2.5]").1,
        vec![SqlValue::Real(1.0), SqlValue::Real(2.5)]
    );
    assert_eq!(ok("it.name $in []"), ("(1=0)".to_string(), vec![]));
    assert_eq!(sql("!(it.name $in [])"), "(NOT (1=0))");
}

#[test]
fn literals_and_escapes() {
    assert_eq!(ok(r"it.name == 'it\'s'").1, vec![text("it's")]);
    assert_eq!(ok("it.name == 'it''s'").1, vec![text("it's")]);
    assert_eq!(ok(r"it.name == 'a\\b'").1, vec![text(r"a\b")]);
    assert_eq!(ok("it.name == ''").1, vec![text("")]);
    assert_eq!(ok("it.count == -12").1, vec![SqlValue::Integer(-12)]);
    assert_eq!(ok("it.score > -1.25").1, vec![SqlValue::Real(-1.25)]);
    assert_eq!(ok("it.score > 3").1, vec![SqlValue::Real(3.0)]);
}

#[test]
fn id_and_reference_coercion() {
    assert_eq!(
        ok("it.$id == '42'"),
        ("(\"id\" = ?)".to_string(), vec![SqlValue::Integer(42)])
    );
    assert_eq!(ok("it.source == '7'").1, vec![SqlValue::Integer(7)]);
    assert_eq!(ok("it.$id == 'abc'"), ("(1=0)".to_string(), vec![]));
    assert_eq!(sql("it.source != 'x1'"), "(\"source\" IS NOT NULL)");
    assert_eq!(sql("it.$id == '99999999999999999999'"), "(1=0)");
    assert_eq!(
        ok("it.$id $in ['1', 'no', '3']").1,
        vec![SqlValue::Integer(1), SqlValue::Integer(3)]
    );
    assert_eq!(sql("it.$id $in ['no']"), "(1=0)");
    assert_eq!(sql("it.$id == it.source"), "(\"id\" = \"source\")");
    assert_eq!(sql("it.$id < 'abc'"), "(1=0)");
}

#[test]
fn datetime_normalisation() {
    let cases = [
        ("2024-02-29T10:20:30", "2024-02-29T10:20:30.000"),
        ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05.000"),
        ("2024-01-02T03:04:05.5", "2024-01-02T03:04:05.500"),
        ("2024-01-02T03:04:05.123456Z", "2024-01-02T03:04:05.123"),
    ];
    for (input, expected) in cases {
        assert_eq!(
            ok(&format!("it.createdAt >= '{input}'")).1,
            vec![text(expected)]
        );
    }
    let placeholders = HashMap::from([(
        "t".to_string(),
        Literal::DateTime("2024-01-02T03:04:05.1".into()),
    )]);
    let fragment =
        translate_with("it.createdAt < ${t}", &placeholders).expect("datetime placeholder");
    assert_eq!(fragment.params, vec![text("2024-01-02T03:04:05.100")]);
    for bad in [
        "2023-02-29T00:00:00",
        "2024-13-01T00:00:00",
        "2024-01-01 00:00:00",
        "2024-01-01T00:00:00.",
        "yesterday",
    ] {
        let e = fail(&format!("it.createdAt == '{bad}'"));
        assert_eq!(e.position, 16, "{bad}");
        assert!(e.message.contains("invalid date-time"), "{}", e.message);
    }
}

#[test]
fn empty_cond_matches_everything() {
    for cond in ["", "   ", "\n\t"] {
        assert_eq!(ok(cond), ("1=1".to_string(), vec![]));
    }
}

fn assert_error(cond: &str, position: usize, fragment: &str) {
    let e = fail(cond);
    assert_eq!(e.position, position, "{cond}: {e}");
    assert!(e.message.contains(fragment), "{cond}: {e}");
}

#[test]
fn errors_report_position() {
    assert_error("it.name ==", 10, "unexpected end of input");
    assert_error("(it.bot", 7, "unexpected end of input: expected ')'");
    assert_error("(it.bot ]", 8, "expected ')' but found ']'");
    assert_error("it.name = 'x'", 8, "unknown token '='");
    assert_error("it.name == 'x' # 1", 15, "unknown token '#'");
    assert_error("it.name == 'abc", 11, "unterminated string");
    assert_error("it.bot && it.nope == 1", 10, "unknown field 'it.nope'");
    assert_error(
        "it.bot == 'yes'",
        10,
        "type mismatch: field 'it.bot' is Boolean but the value is a string",
    );
    assert_error("it.count == 1.5", 12, "type mismatch");
    assert_error(
        "it.count == it.name",
        9,
        "type mismatch: cannot compare Integer",
    );
    assert_error("it.count $like 'a'", 9, "$like needs a Text field");
    assert_error("it.name $like 5", 14, "string pattern");
    assert_error("it.name $in ['a', 1]", 18, "mixes string and number");
    assert_error("it.name $in ['a', null]", 18, "null is not allowed");
    assert_error("it.count < null", 9, "cannot be used with null");
    assert_error("it.bot > true", 7, "Boolean");
    assert_error("it.meta == 'x'", 11, "JSON field 'it.meta'");
    assert_error("it.name", 0, "only a Boolean field");
    assert_error("it.count == 1 == 2", 14, "cannot be chained");
    assert_error("it.name $ilike 'x'", 8, "unknown operator '$ilike'");
    assert_error("name == 'x'", 0, "'it.name'");
    assert_error("it == 1", 3, "'.' and a field name after 'it'");
    assert_error("1 == 1", 0, "at least one field");
    assert_error("it.bot it.bot", 7, "expected '&&', '||' or end of input");
    assert_error("it.count == 99999999999999999999", 12, "out of range");
    let e = fail("(it.bot && it.active");
    assert_eq!(
        e.to_string(),
        "cond: at position 20: unexpected end of input: expected ')'"
    );
}

#[test]
fn placeholders_are_single_bound_values() {
    let hostile = [
        "'",
        "||",
        "' || 1==1 || '",
        r"\' || it.bot || \'",
        r"\\",
        "\"name\"; DROP TABLE x; --",
        "${other}",
    ];
    for value in hostile {
        let placeholders = HashMap::from([("q".to_string(), Literal::Text(value.to_string()))]);
        let fragment = translate_with("it.name == ${q}", &placeholders).expect(value);
        assert_eq!(fragment.sql, "(\"name\" = ?)");
        assert_eq!(fragment.params, vec![text(value)]);
        let fragment =
            translate_with("it.name $like ${q} || ${q} == it.title", &placeholders).expect(value);
        assert_eq!(
            fragment.sql,
            "((\"name\" LIKE ? ESCAPE '\\') OR (\"title\" = ?))"
        );
        assert_eq!(fragment.params, vec![text(value), text(value)]);
    }
    let placeholders = HashMap::from([
        ("n".to_string(), Literal::Integer(3)),
        ("b".to_string(), Literal::Bool(true)),
        ("id".to_string(), Literal::Text("' OR 1=1".into())),
    ]);
    let fragment = translate_with(
        "it.count $in [${n}, 4] && it.bot == ${b} && it.$id != ${id}",
        &placeholders,
    )
    .expect("typed placeholders");
    assert_eq!(
        fragment.sql,
        "((\"count\" IN (?, ?)) AND (\"bot\" = ?) AND (\"id\" IS NOT NULL))"
    );
    assert_eq!(
        fragment.params,
        vec![
            SqlValue::Integer(3),
            SqlValue::Integer(4),
            SqlValue::Integer(1)
        ]
    );
    let e = translate_with("it.bot && it.name == ${missing}", &placeholders).expect_err("unknown");
    assert_eq!(
        (e.position, e.message.as_str()),
        (21, "unknown placeholder '${missing}'")
    );
    assert_eq!(
        translate_with("it.name == ${n", &placeholders)
            .expect_err("open")
            .position,
        11
    );
}

#[test]
fn sort_criteria() {
    assert_eq!(
        translate_sort("it.createdAt", &TestColumns),
        Ok("\"createdAt\"".to_string())
    );
    assert_eq!(
        translate_sort(" createdAt ", &TestColumns),
        Ok("\"createdAt\"".to_string())
    );
    assert_eq!(
        translate_sort("it.source.userName", &TestColumns),
        Ok("\"source_userName\"".to_string())
    );
    assert_eq!(
        translate_sort("it.$id", &TestColumns),
        Ok("\"id\"".to_string())
    );
    let error_at = |crit: &str| translate_sort(crit, &TestColumns).expect_err(crit).position;
    assert_eq!(error_at("it.nope"), 0);
    assert_eq!(error_at(""), 0);
    assert_eq!(error_at("it"), 2);
    assert_eq!(error_at("it.name it.count"), 8);
    assert_eq!(error_at("it.name DESC"), 8);
    assert_eq!(error_at("it.name =="), 8);
    assert_eq!(error_at("${x}"), 0);
}

#[test]
fn deep_or_long_input_is_rejected_or_handled_without_overflow() {
    assert!(
        fail(&"(".repeat(100_000))
            .message
            .contains("nested more than")
    );
    assert!(
        fail(&format!("{}it.bot", "!".repeat(100_000)))
            .message
            .contains("nested more than")
    );
    let nested = format!("{}it.bot{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(sql(&nested), "(\"bot\" = 1)");
    let long = vec!["it.bot"; MAX_TERMS].join(" || ");
    assert!(sql(&long).starts_with("(((\"bot\" = 1) OR"));
    let longer = vec!["it.bot"; MAX_TERMS + 1].join(" || ");
    assert!(fail(&longer).message.contains("more than 1000 comparisons"));
    let values = (0..=MAX_VALUES).map(|i| i.to_string()).collect::<Vec<_>>();
    let in_list = format!("it.count $in [{}]", values.join(", "));
    assert!(fail(&in_list).message.contains("at most 10000 values"));
}

#[test]
fn never_panics_on_garbage() {
    let placeholders = HashMap::from([("p".to_string(), Literal::Text("x".into()))]);
    let run = |input: &str| {
        let _ = translate_with(input, &placeholders);
        let _ = translate_sort(input, &TestColumns);
    };
    let seeds = [
        "it.name == 'a\\'b' && (it.count >= -3 || !it.bot)",
        "it.name $like '%x' || it.$id $in ['1', '2'] && it.score < 1.5",
        "it.createdAt > '2024-01-02T03:04:05.123Z' && it.source.userName != ${p}",
        "it.meta == null || !(it.active) && 'x' == it.title",
    ];
    for seed in seeds {
        for (i, _) in seed.char_indices() {
            run(&seed[..i]);
            run(&seed[i..]);
        }
    }
    let alphabet: Vec<char> = "it.$name{}()[]'\\=!<>&|, 0123456789-_aZT:%é\u{0}\""
        .chars()
        .collect();
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    for _ in 0..5_000 {
        let len = next() % 48;
        let chosen: String = (0..len)
            .map(|_| alphabet[next() % alphabet.len()])
            .collect();
        run(&chosen);
        let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        run(&String::from_utf8_lossy(&bytes));
    }
}
