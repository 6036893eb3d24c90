//! The lexical pass: one walk over the bytes, tracking only what the caps need (brackets open,
//! tokens, definitions, variable definitions). Strings, block strings and comments are skipped
//! as GraphQL lexes them, so a bracket inside one does not count. Anything malformed is left to
//! the parser: this pass only refuses what is too big.

use super::{DocumentCaps, Refusal, over};

/// Checks `text` against the lexical caps in one linear pass; its tokens when it passes.
pub fn scan(text: &str, caps: &DocumentCaps) -> Result<usize, Refusal> {
    let bytes = text.as_bytes();
    let mut open: Vec<u8> = Vec::new();
    let mut tokens = 0usize;
    let (mut operations, mut fragments, mut variables) = (0usize, 0usize, 0usize);
    // True where a new definition (operation or fragment) may begin.
    let mut definition_start = true;
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        let start = at;
        at += 1;
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => continue,
            b'#' => {
                while at < bytes.len() && !matches!(bytes[at], b'\n' | b'\r') {
                    at += 1;
                }
                continue;
            }
            b'"' => at = skip_string(bytes, start),
            b'{' | b'[' | b'(' => {
                if open.len() >= caps.nesting {
                    return Err(Refusal::Limit(format!(
                        "the document nests deeper than {} levels (selections and value \
                         literals together); the limit is {}",
                        caps.nesting, caps.nesting
                    )));
                }
                open.push(byte);
            }
            b'}' | b']' | b')' => {
                open.pop();
                definition_start = byte == b'}' && open.is_empty();
                tokens += 1;
                check(tokens, caps.tokens, "tokens")?;
                continue;
            }
            b'$' if open == [b'('] => {
                variables += 1;
                check(
                    variables,
                    caps.variables,
                    "variable definitions in an operation",
                )?;
            }
            b'.' => {
                while at < bytes.len() && bytes[at] == b'.' && at - start < 3 {
                    at += 1;
                }
            }
            // A byte-order mark is white space.
            0xEF if bytes[at..].starts_with(&[0xBB, 0xBF]) => {
                at += 2;
                continue;
            }
            byte if is_name_byte(byte) => {
                while at < bytes.len() && is_name_byte(bytes[at]) {
                    at += 1;
                }
            }
            _ => {}
        }
        tokens += 1;
        check(tokens, caps.tokens, "tokens")?;
        if definition_start && open.len() <= 1 {
            definition_start = false;
            if &bytes[start..at] == b"fragment" {
                fragments += 1;
                check(fragments, caps.fragments, "fragment definitions")?;
            } else {
                operations += 1;
                variables = 0;
                check(operations, caps.operations, "operations")?;
            }
        }
    }
    Ok(tokens)
}

fn check(count: usize, limit: usize, what: &str) -> Result<(), Refusal> {
    if count > limit {
        Err(over(what, count, limit))
    } else {
        Ok(())
    }
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// The index after the string starting at `start` (a `"`): a block string `"""…"""` (where
/// `\"""` is an escaped delimiter) or a one-line string with `\` escapes. An unterminated
/// string runs to the end of its line (block: of the text); the parser reports it.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    if bytes[start..].starts_with(b"\"\"\"") {
        let mut at = start + 3;
        while at < bytes.len() {
            if bytes[at..].starts_with(b"\\\"\"\"") {
                at += 4;
            } else if bytes[at..].starts_with(b"\"\"\"") {
                return at + 3;
            } else {
                at += 1;
            }
        }
        return at;
    }
    let mut at = start + 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'"' => return at + 1,
            b'\n' | b'\r' => return at,
            _ => at += 1,
        }
    }
    at.min(bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPS: DocumentCaps = DocumentCaps {
        nesting: 8,
        tokens: 100,
        operations: 2,
        fragments: 2,
        variables: 2,
        selections: 100,
    };

    fn refused(text: &str) -> String {
        scan(text, &CAPS).unwrap_err().message().to_owned()
    }

    #[test]
    fn nesting_counts_brackets_outside_strings_and_comments() {
        assert!(scan("{ a(x: [[[1]]]) { b { c } } }", &CAPS).is_ok());
        assert_eq!(
            scan("query Q { a(x: 1) }", &CAPS).unwrap(),
            10,
            "its tokens"
        );
        assert!(
            refused(&format!("{{ a(x: {}1{}) }}", "[".repeat(7), "]".repeat(7)))
                .contains("deeper than 8")
        );
        let quoted = format!(
            "{{ a(x: \"{}\", y: \"\"\"{}\\\"\"\"{}\"\"\") # {}\n }}",
            "[".repeat(50),
            "{".repeat(50),
            "(".repeat(50),
            "[".repeat(50)
        );
        assert!(scan(&quoted, &CAPS).is_ok(), "{:?}", scan(&quoted, &CAPS));
        assert!(scan("{ a(x: \"\\\"[[[[[[[[[[\") }", &CAPS).is_ok());
    }

    #[test]
    fn tokens_definitions_and_variables_are_capped() {
        assert!(refused(&format!("{{ {} }}", "a ".repeat(99))).contains("100 tokens"));
        assert!(
            scan(
                "query A { a } fragment F on Q { b } mutation B { c } fragment G on Q { d }",
                &CAPS
            )
            .is_ok()
        );
        assert!(refused("{ a } { b } { c }").contains("2 operations"));
        assert!(
            refused("fragment A on Q { a } fragment B on Q { a } fragment C on Q { a }")
                .contains("fragment")
        );
        assert!(
            scan(
                "query($a: Int, $b: [Int] = [1]) { x(a: $a, b: $b) } query($c: Int $d: Int) { y }",
                &CAPS
            )
            .is_ok()
        );
        assert!(refused("query($a: Int, $b: Int, $c: Int) { x }").contains("variable"));
        // A name that is a keyword elsewhere is not a definition.
        assert!(scan("query fragment { fragment } query query { query }", &CAPS).is_ok());
    }
}
