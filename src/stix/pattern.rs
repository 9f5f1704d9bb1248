//! STIX 2.1 patterning (STIX 2.1 section 9): a hand-written recursive-descent parser that turns an
//! indicator's `pattern` into a syntax tree, and the simple equality comparisons the store indexes.
//!
//! Owns: the pattern grammar (tokens, constants, object paths, operator precedence, qualifiers) and the
//! normalization of indexed values. Must never: do I/O, know HTTP or SQL, or decide policy (which object
//! types or hash algorithms are acceptable is for the validators that read the tree).
//!
//! Precedence follows the reference grammar (`STIXPattern.g4`): inside `[...]`, `AND` binds tighter than
//! `OR`; between observations, qualifiers bind tightest (to the single observation or parenthesised group
//! they follow), then `AND`, then `OR`, then `FOLLOWEDBY`. All binary operators are left-associative.
//! Keywords are case-sensitive upper case; booleans are `true` and `false`.
//!
//! Two leniencies for STIX 2.0 producers, both of which the 2.0 grammar allowed: unquoted property names
//! may contain `-` (`extensions.windows-pebinary-ext`), and `START`/`STOP` accept a plain string holding
//! a timestamp as well as `t'…'`. Hostile input is bounded: at most 64 nested brackets/parentheses and
//! 1,000 comparisons per pattern, so no tree handed out is too deep to walk, clone or drop.

use std::collections::HashSet;
use std::fmt;

use chrono::{DateTime, Utc};

/// Deepest nesting of brackets and parentheses accepted; deeper input is refused rather than risking
/// the stack.
const MAX_NESTING: usize = 64;

/// Most comparisons accepted in one pattern. Binary operators build a tree as deep as their chain is
/// long, so this bounds the depth of every tree this module hands out: the derived `Clone`, `PartialEq`
/// and `Debug` (and callers' own recursive walks) recurse once per level, and must fit a 2 MiB thread
/// stack (tokio's default) even in a debug build.
const MAX_COMPARISONS: usize = 1_000;

/// Why a pattern does not parse: where (a byte offset into the pattern) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// Byte offset of the offending token or character; the pattern's length for a premature end.
    pub position: usize,
    /// For people.
    pub message: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at position {}: {}", self.position, self.message)
    }
}

impl std::error::Error for PatternError {}

/// A parsed pattern: observation expressions joined by observation operators.
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    /// `[comparison]`, with the qualifiers written directly after its closing bracket.
    Observation {
        comparison: ComparisonExpr,
        qualifiers: Vec<Qualifier>,
    },
    /// `a AND b`: both observations match.
    And(Box<Pattern>, Box<Pattern>),
    /// `a OR b`: either observation matches.
    Or(Box<Pattern>, Box<Pattern>),
    /// `a FOLLOWEDBY b`: `b` matches later than `a`.
    FollowedBy(Box<Pattern>, Box<Pattern>),
    /// `( … )` followed by qualifiers. A parenthesised group without qualifiers is just its content.
    Qualified(Box<Pattern>, Vec<Qualifier>),
}

/// An observation expression qualifier.
#[derive(Debug, Clone, PartialEq)]
pub enum Qualifier {
    /// `WITHIN <n> SECONDS`; `n` is positive and may be fractional.
    Within(f64),
    /// `REPEATS <n> TIMES`; `n` is positive.
    Repeats(u64),
    /// `START t'…' STOP t'…'`.
    StartStop {
        start: DateTime<Utc>,
        stop: DateTime<Utc>,
    },
}

/// The content of one `[...]`: comparisons joined by `AND` and `OR`.
#[derive(Debug, Clone, PartialEq)]
pub enum ComparisonExpr {
    Comparison(Comparison),
    And(Box<ComparisonExpr>, Box<ComparisonExpr>),
    Or(Box<ComparisonExpr>, Box<ComparisonExpr>),
}

/// `object_path [NOT] operator value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub path: ObjectPath,
    /// `NOT` was written before the operator.
    pub negated: bool,
    pub operator: Operator,
    /// A list exactly when `operator` is [`Operator::In`]; a string for `LIKE`, `MATCHES`, `ISSUBSET`
    /// and `ISSUPERSET`; never a boolean for the ordering operators.
    pub value: Constant,
}

/// `type:prop.sub[index].sub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPath {
    /// The object type: lowercase letters, digits and hyphens (`ipv4-addr`, `x-usb-device`).
    pub object_type: String,
    /// The property steps after the `:`; never empty, and the first is always a property.
    pub steps: Vec<PathStep>,
}

/// One step of an object path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    /// `.name` or `.'quoted name'` (the first property follows the `:` instead of a dot).
    Property(String),
    /// `[n]`.
    Index(usize),
    /// `[*]`.
    AnyIndex,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `=` (also written `==`).
    Eq,
    /// `!=` (also written `<>`).
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    In,
    Like,
    Matches,
    IsSubset,
    IsSuperset,
}

impl Operator {
    /// The operator as the specification writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Eq => "=",
            Operator::Ne => "!=",
            Operator::Gt => ">",
            Operator::Lt => "<",
            Operator::Ge => ">=",
            Operator::Le => "<=",
            Operator::In => "IN",
            Operator::Like => "LIKE",
            Operator::Matches => "MATCHES",
            Operator::IsSubset => "ISSUBSET",
            Operator::IsSuperset => "ISSUPERSET",
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A constant on the right of a comparison, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Constant {
    /// `'…'`, with `\'` and `\\` unescaped.
    String(String),
    Int(i64),
    Float(f64),
    /// `h'…'`, decoded.
    Hex(Vec<u8>),
    /// `b'…'` (base64), decoded.
    Binary(Vec<u8>),
    /// `t'…'`.
    Timestamp(DateTime<Utc>),
    Bool(bool),
    /// `( … )` after `IN`; its elements are never lists.
    List(Vec<Constant>),
}

/// Parses a STIX 2.1 pattern.
pub fn parse(pattern: &str) -> Result<Pattern, PatternError> {
    let mut parser = Parser {
        lexer: Lexer {
            src: pattern,
            pos: 0,
        },
        peeked: None,
        nesting: 0,
        comparisons: 0,
    };
    let tree = parser.observation_followed_by()?;
    let token = parser.next()?;
    if token.tok != Tok::End {
        return Err(parser.unexpected(
            &token,
            "`AND`, `OR`, `FOLLOWEDBY`, a qualifier or the end of the pattern",
        ));
    }
    Ok(tree)
}

impl Pattern {
    /// Every comparison in the pattern, in the order written (for validators: which object types and
    /// properties it names).
    pub fn comparisons(&self) -> Vec<&Comparison> {
        let mut found = Vec::new();
        // Explicit stacks, right child pushed first, so long operator chains cost no recursion.
        let mut patterns = vec![self];
        let mut exprs = Vec::new();
        while let Some(pattern) = patterns.pop() {
            match pattern {
                Pattern::Observation { comparison, .. } => {
                    exprs.push(comparison);
                    while let Some(expr) = exprs.pop() {
                        match expr {
                            ComparisonExpr::Comparison(c) => found.push(c),
                            ComparisonExpr::And(a, b) | ComparisonExpr::Or(a, b) => {
                                exprs.push(b);
                                exprs.push(a);
                            }
                        }
                    }
                }
                Pattern::And(a, b) | Pattern::Or(a, b) | Pattern::FollowedBy(a, b) => {
                    patterns.push(b);
                    patterns.push(a);
                }
                Pattern::Qualified(inner, _) => patterns.push(inner),
            }
        }
        found
    }
}

impl ObjectPath {
    /// The path after the `:`, dotted, with indexes in brackets; names are quoted (`'SHA-256'`, `'MD5'`)
    /// unless they consist only of `[a-z0-9_]` and do not start with a digit, so two spellings of the same
    /// path give the same string and the result parses again.
    pub fn property_path(&self) -> String {
        let mut out = String::new();
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                PathStep::Property(name) => {
                    if i > 0 {
                        out.push('.');
                    }
                    push_property_name(&mut out, name);
                }
                PathStep::Index(n) => {
                    out.push('[');
                    out.push_str(&n.to_string());
                    out.push(']');
                }
                PathStep::AnyIndex => out.push_str("[*]"),
            }
        }
        out
    }
}

/// `object_type:property_path`, e.g. `file:hashes.'SHA-256'`.
impl fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.object_type, self.property_path())
    }
}

fn push_property_name(out: &mut String, name: &str) {
    let plain = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plain {
        out.push_str(name);
        return;
    }
    out.push('\'');
    for c in name.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
}

/// The simple equality comparisons the store indexes for "do we know this IP?": each `=` comparison
/// (not negated) whose value is a string, and each string in a (not negated) `IN (…)` list, as
/// `(observable_type, value)` where `observable_type` is `object_type:property_path` (`ipv4-addr:value`,
/// `file:hashes.'SHA-256'`, `file:name`, …). Values are normalized: hashes (a path starting with
/// `hashes.`), `domain-name:value` and `email-addr:value` lower-cased, others as written. Pairs are
/// returned once each, in the order first written.
pub fn indexable_comparisons(pattern: &Pattern) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for comparison in pattern.comparisons() {
        if comparison.negated {
            continue;
        }
        let values: &[Constant] = match (&comparison.operator, &comparison.value) {
            (Operator::Eq, value @ Constant::String(_)) => std::slice::from_ref(value),
            (Operator::In, Constant::List(items)) => items,
            _ => continue,
        };
        let path = comparison.path.property_path();
        let object_type = comparison.path.object_type.as_str();
        let observable_type = format!("{object_type}:{path}");
        for value in values {
            let Constant::String(value) = value else {
                continue;
            };
            let value = super::observable::normalize_value(object_type, &path, value);
            let pair = (observable_type.clone(), value);
            if seen.insert(pair.clone()) {
                out.push(pair);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------------
// Lexer: produces one token at a time, on demand, so errors come out in reading order.

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    LBrack,
    RBrack,
    LParen,
    RParen,
    Colon,
    Dot,
    Comma,
    Star,
    /// `=`, `==`, `!=`, `<>`, `<`, `<=`, `>`, `>=`.
    Cmp(Operator),
    /// An identifier or keyword: `[A-Za-z_][A-Za-z0-9_-]*`.
    Word(&'a str),
    Str(String),
    Int(i64),
    Float(f64),
    Hex(Vec<u8>),
    Bin(Vec<u8>),
    Time(DateTime<Utc>),
    End,
}

#[derive(Debug)]
struct Token<'a> {
    tok: Tok<'a>,
    start: usize,
    end: usize,
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

fn error(position: usize, message: impl Into<String>) -> PatternError {
    PatternError {
        position,
        message: message.into(),
    }
}

impl<'a> Lexer<'a> {
    fn byte(&self, at: usize) -> Option<u8> {
        self.src.as_bytes().get(at).copied()
    }

    /// Skips whitespace (the Unicode `White_Space` set, as the reference grammar) and `/* */`, `//`
    /// comments.
    fn skip_trivia(&mut self) -> Result<(), PatternError> {
        loop {
            let rest = &self.src[self.pos..];
            if let Some(c) = rest.chars().next().filter(|c| c.is_whitespace()) {
                self.pos += c.len_utf8();
            } else if let Some(comment) = rest.strip_prefix("/*") {
                match comment.find("*/") {
                    Some(end) => self.pos += 2 + end + 2,
                    None => return Err(error(self.pos, "unterminated `/*` comment")),
                }
            } else if rest.starts_with("//") {
                self.pos += rest.find('\n').unwrap_or(rest.len());
            } else {
                return Ok(());
            }
        }
    }

    fn next_token(&mut self) -> Result<Token<'a>, PatternError> {
        self.skip_trivia()?;
        let start = self.pos;
        let Some(b) = self.byte(start) else {
            return Ok(Token {
                tok: Tok::End,
                start,
                end: start,
            });
        };
        let next = self.byte(start + 1);
        let (tok, len) = match b {
            b'[' => (Tok::LBrack, 1),
            b']' => (Tok::RBrack, 1),
            b'(' => (Tok::LParen, 1),
            b')' => (Tok::RParen, 1),
            b':' => (Tok::Colon, 1),
            b',' => (Tok::Comma, 1),
            b'*' => (Tok::Star, 1),
            b'.' if !next.is_some_and(|n| n.is_ascii_digit()) => (Tok::Dot, 1),
            b'=' if next == Some(b'=') => (Tok::Cmp(Operator::Eq), 2),
            b'=' => (Tok::Cmp(Operator::Eq), 1),
            b'!' if next == Some(b'=') => (Tok::Cmp(Operator::Ne), 2),
            b'<' if next == Some(b'>') => (Tok::Cmp(Operator::Ne), 2),
            b'<' if next == Some(b'=') => (Tok::Cmp(Operator::Le), 2),
            b'<' => (Tok::Cmp(Operator::Lt), 1),
            b'>' if next == Some(b'=') => (Tok::Cmp(Operator::Ge), 2),
            b'>' => (Tok::Cmp(Operator::Gt), 1),
            b'\'' => return self.string_token(start, start),
            b'h' | b'b' | b't' if next == Some(b'\'') => return self.prefixed_literal(b),
            b'0'..=b'9' | b'+' | b'-' | b'.' => return self.number(),
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let len = self.src.as_bytes()[start..]
                    .iter()
                    .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-'))
                    .unwrap_or(self.src.len() - start);
                (Tok::Word(&self.src[start..start + len]), len)
            }
            _ => {
                let c = self.src[start..].chars().next().unwrap_or_default();
                return Err(error(start, format!("unexpected character {c:?}")));
            }
        };
        self.pos = start + len;
        Ok(Token {
            tok,
            start,
            end: self.pos,
        })
    }

    /// Reads the body of a `'…'` literal whose opening quote is at `quote`, leaving `pos` after the
    /// closing quote. Only `\'` and `\\` are escapes.
    fn quoted(&mut self, quote: usize) -> Result<String, PatternError> {
        let bytes = self.src.as_bytes();
        let mut out = String::new();
        let mut i = quote + 1;
        let mut run = i;
        loop {
            match bytes.get(i) {
                None => return Err(error(quote, "unterminated string: no closing `'`")),
                Some(b'\'') => {
                    out.push_str(&self.src[run..i]);
                    self.pos = i + 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(&self.src[run..i]);
                    match bytes.get(i + 1) {
                        Some(&c @ (b'\'' | b'\\')) => out.push(char::from(c)),
                        Some(_) => {
                            let c = self.src[i + 1..].chars().next().unwrap_or_default();
                            return Err(error(
                                i,
                                format!(
                                    "invalid escape `\\{c}` in string: only `\\'` and `\\\\` are allowed"
                                ),
                            ));
                        }
                        None => return Err(error(quote, "unterminated string: no closing `'`")),
                    }
                    i += 2;
                    run = i;
                }
                Some(_) => i += 1,
            }
        }
    }

    fn string_token(&mut self, start: usize, quote: usize) -> Result<Token<'a>, PatternError> {
        let s = self.quoted(quote)?;
        Ok(Token {
            tok: Tok::Str(s),
            start,
            end: self.pos,
        })
    }

    /// `h'…'`, `b'…'` or `t'…'`; `prefix` is the letter at `pos`.
    fn prefixed_literal(&mut self, prefix: u8) -> Result<Token<'a>, PatternError> {
        let start = self.pos;
        let body = self.quoted(start + 1)?;
        let tok = match prefix {
            b'h' => Tok::Hex(decode_hex(&body).ok_or_else(|| {
                error(
                    start,
                    "invalid hex literal: expected an even number of hex digits",
                )
            })?),
            b'b' => Tok::Bin(decode_base64(&body).ok_or_else(|| {
                error(start, "invalid binary literal: expected valid base64")
            })?),
            _ => Tok::Time(parse_pattern_timestamp(&body).ok_or_else(|| {
                error(
                    start,
                    format!(
                        "invalid timestamp {body:?}: expected YYYY-MM-DDTHH:MM:SS[.s+]Z (RFC 3339, UTC)"
                    ),
                )
            })?),
        };
        Ok(Token {
            tok,
            start,
            end: self.pos,
        })
    }

    /// `[+-]? ('0' | [1-9][0-9]*)` or `[+-]? [0-9]* '.' [0-9]+`.
    fn number(&mut self) -> Result<Token<'a>, PatternError> {
        let bytes = self.src.as_bytes();
        let start = self.pos;
        let mut i = start;
        if matches!(bytes[i], b'+' | b'-') {
            i += 1;
        }
        let digits = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let int_digits = i - digits;
        let is_float =
            bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
        if is_float {
            i += 1;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        } else if int_digits == 0 {
            let c = self.src[start..].chars().next().unwrap_or_default();
            return Err(error(start, format!("unexpected character {c:?}")));
        }
        let text = &self.src[start..i];
        let tok = if is_float {
            Tok::Float(
                text.parse()
                    .map_err(|_| error(start, format!("invalid number `{text}`")))?,
            )
        } else {
            if int_digits > 1 && bytes[digits] == b'0' {
                return Err(error(
                    start,
                    format!("invalid integer `{text}`: leading zeros are not allowed"),
                ));
            }
            Tok::Int(
                text.parse()
                    .map_err(|_| error(start, format!("integer `{text}` is out of range")))?,
            )
        };
        self.pos = i;
        Ok(Token { tok, start, end: i })
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    fn nibble(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

/// Standard base64 with padding (`A-Z a-z 0-9 + /`, length a multiple of 4, `=` only at the end).
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    fn sextet(b: u8) -> Option<u32> {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        Some(u32::from(v))
    }
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let groups = bytes.len() / 4;
    let mut out = Vec::with_capacity(groups * 3);
    for (g, chunk) in bytes.chunks_exact(4).enumerate() {
        let padding = chunk.iter().rev().take_while(|&&b| b == b'=').count();
        if padding > 2 || (padding > 0 && g + 1 != groups) {
            return None;
        }
        let mut n = 0u32;
        for &b in &chunk[..4 - padding] {
            n = n << 6 | sextet(b)?;
        }
        n <<= 6 * padding as u32;
        let [_, b0, b1, b2] = n.to_be_bytes();
        out.extend_from_slice(&[b0, b1, b2][..3 - padding]);
    }
    Some(out)
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, a real date and time.
fn parse_pattern_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    let shape = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[b.len() - 1] == b'Z'
        && match &b[19..b.len() - 1] {
            [] => true,
            [b'.', fraction @ ..] => {
                !fraction.is_empty() && fraction.iter().all(u8::is_ascii_digit)
            }
            _ => false,
        };
    if !shape {
        return None;
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

// ---------------------------------------------------------------------------------------------------
// Parser: one function per precedence level, loops for left-associative chains.

const KEYWORDS: [&str; 18] = [
    "AND",
    "OR",
    "NOT",
    "FOLLOWEDBY",
    "LIKE",
    "MATCHES",
    "ISSUPERSET",
    "ISSUBSET",
    "LAST",
    "IN",
    "START",
    "STOP",
    "SECONDS",
    "TRUE",
    "FALSE",
    "WITHIN",
    "REPEATS",
    "TIMES",
];

struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<Token<'a>>,
    /// Open brackets and parentheses.
    nesting: usize,
    comparisons: usize,
}

impl<'a> Parser<'a> {
    fn peek(&mut self) -> Result<&Token<'a>, PatternError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next_token()?);
        }
        Ok(self.peeked.as_ref().expect("just filled"))
    }

    fn next(&mut self) -> Result<Token<'a>, PatternError> {
        match self.peeked.take() {
            Some(token) => Ok(token),
            None => self.lexer.next_token(),
        }
    }

    /// Consumes the next token if it is the keyword `word`.
    fn eat_keyword(&mut self, word: &str) -> Result<bool, PatternError> {
        if self.peek()?.tok == Tok::Word(word) {
            self.next()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn peek_is(&mut self, tok: &Tok<'_>) -> Result<bool, PatternError> {
        Ok(self.peek()?.tok == *tok)
    }

    /// "expected X, found Y", with a hint when Y is a keyword in the wrong case.
    fn unexpected(&self, token: &Token<'_>, expected: &str) -> PatternError {
        let found = match &token.tok {
            Tok::End => "the end of the pattern".to_owned(),
            _ => {
                let text = &self.lexer.src[token.start..token.end];
                match text.char_indices().nth(40) {
                    Some((cut, _)) => format!("`{}…`", &text[..cut]),
                    None => format!("`{text}`"),
                }
            }
        };
        let mut message = format!("expected {expected}, found {found}");
        if let Tok::Word(word) = token.tok {
            let upper = word.to_ascii_uppercase();
            if upper == "TRUE" || upper == "FALSE" {
                if word != upper.to_ascii_lowercase() {
                    message.push_str(" (booleans are written `true` and `false`)");
                }
            } else if upper != word && KEYWORDS.contains(&upper.as_str()) {
                message.push_str(&format!(" (keywords are upper case: `{upper}`)"));
            }
        }
        error(token.start, message)
    }

    fn expect(&mut self, tok: &Tok<'_>, expected: &str) -> Result<Token<'a>, PatternError> {
        let token = self.next()?;
        if token.tok != *tok {
            return Err(self.unexpected(&token, expected));
        }
        Ok(token)
    }

    fn open(&mut self, at: usize) -> Result<(), PatternError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(error(
                at,
                format!("brackets and parentheses nested more than {MAX_NESTING} deep"),
            ));
        }
        Ok(())
    }

    // Observation expressions.

    fn observation_followed_by(&mut self) -> Result<Pattern, PatternError> {
        let mut left = self.observation_or()?;
        while self.eat_keyword("FOLLOWEDBY")? {
            let right = self.observation_or()?;
            left = Pattern::FollowedBy(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn observation_or(&mut self) -> Result<Pattern, PatternError> {
        let mut left = self.observation_and()?;
        while self.eat_keyword("OR")? {
            let right = self.observation_and()?;
            left = Pattern::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn observation_and(&mut self) -> Result<Pattern, PatternError> {
        let mut left = self.observation()?;
        while self.eat_keyword("AND")? {
            let right = self.observation()?;
            left = Pattern::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// `[ comparisons ] qualifiers*` or `( observations ) qualifiers*`.
    fn observation(&mut self) -> Result<Pattern, PatternError> {
        let token = self.next()?;
        match token.tok {
            Tok::LBrack => {
                self.open(token.start)?;
                if self.peek_is(&Tok::RBrack)? {
                    let close = self.next()?;
                    return Err(error(
                        close.start,
                        "empty observation expression: expected an object path",
                    ));
                }
                let comparison = self.comparison_or()?;
                self.expect(&Tok::RBrack, "`AND`, `OR` or `]`")?;
                self.nesting -= 1;
                // STIX 2.1: an observation expression has at most one qualifier of each kind. Like the
                // reference validator, this applies to qualifiers written directly after `]`.
                let qualifiers = self.qualifiers(true)?;
                Ok(Pattern::Observation {
                    comparison,
                    qualifiers,
                })
            }
            Tok::LParen => {
                self.open(token.start)?;
                let inner = self.observation_followed_by()?;
                self.expect(
                    &Tok::RParen,
                    "`AND`, `OR`, `FOLLOWEDBY`, a qualifier or `)`",
                )?;
                self.nesting -= 1;
                let qualifiers = self.qualifiers(false)?;
                if qualifiers.is_empty() {
                    Ok(inner)
                } else {
                    Ok(Pattern::Qualified(Box::new(inner), qualifiers))
                }
            }
            _ => Err(self.unexpected(&token, "`[` or `(` to start an observation expression")),
        }
    }

    fn qualifiers(&mut self, unique: bool) -> Result<Vec<Qualifier>, PatternError> {
        let mut qualifiers: Vec<Qualifier> = Vec::new();
        loop {
            let keyword = match self.peek()?.tok {
                Tok::Word(w @ ("WITHIN" | "REPEATS" | "START")) => w,
                _ => return Ok(qualifiers),
            };
            let at = self.next()?.start;
            let qualifier = match keyword {
                "WITHIN" => {
                    let token = self.next()?;
                    let seconds = match token.tok {
                        Tok::Int(n) if n > 0 => n as f64,
                        Tok::Float(x) if x > 0.0 => x,
                        _ => {
                            return Err(self
                                .unexpected(&token, "a positive number of seconds after `WITHIN`"))
                        }
                    };
                    self.expect(&Tok::Word("SECONDS"), "`SECONDS`")?;
                    Qualifier::Within(seconds)
                }
                "REPEATS" => {
                    let token = self.next()?;
                    let times = match token.tok {
                        Tok::Int(n) if n > 0 => n as u64,
                        _ => {
                            return Err(
                                self.unexpected(&token, "a positive whole number after `REPEATS`")
                            )
                        }
                    };
                    self.expect(&Tok::Word("TIMES"), "`TIMES`")?;
                    Qualifier::Repeats(times)
                }
                _ => {
                    let start = self.qualifier_timestamp("START")?;
                    self.expect(&Tok::Word("STOP"), "`STOP`")?;
                    let stop = self.qualifier_timestamp("STOP")?;
                    Qualifier::StartStop { start, stop }
                }
            };
            if unique
                && qualifiers
                    .iter()
                    .any(|q| std::mem::discriminant(q) == std::mem::discriminant(&qualifier))
            {
                return Err(error(
                    at,
                    format!("an observation expression takes at most one `{keyword}` qualifier"),
                ));
            }
            qualifiers.push(qualifier);
        }
    }

    fn qualifier_timestamp(&mut self, after: &str) -> Result<DateTime<Utc>, PatternError> {
        let token = self.next()?;
        match token.tok {
            Tok::Time(t) => Ok(t),
            Tok::Str(ref s) => parse_pattern_timestamp(s).ok_or_else(|| {
                error(
                    token.start,
                    format!("invalid timestamp {s:?} after `{after}`: expected t'YYYY-MM-DDTHH:MM:SS[.s+]Z'"),
                )
            }),
            _ => Err(self.unexpected(&token, &format!("a timestamp t'…' after `{after}`"))),
        }
    }

    // Comparison expressions (inside brackets).

    fn comparison_or(&mut self) -> Result<ComparisonExpr, PatternError> {
        let mut left = self.comparison_and()?;
        while self.eat_keyword("OR")? {
            let right = self.comparison_and()?;
            left = ComparisonExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn comparison_and(&mut self) -> Result<ComparisonExpr, PatternError> {
        let mut left = self.comparison_primary()?;
        while self.eat_keyword("AND")? {
            let right = self.comparison_primary()?;
            left = ComparisonExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn comparison_primary(&mut self) -> Result<ComparisonExpr, PatternError> {
        if self.peek_is(&Tok::LParen)? {
            let open = self.next()?;
            self.open(open.start)?;
            let inner = self.comparison_or()?;
            self.expect(&Tok::RParen, "`AND`, `OR` or `)`")?;
            self.nesting -= 1;
            return Ok(inner);
        }
        self.comparison().map(ComparisonExpr::Comparison)
    }

    /// `path [NOT] operator value`.
    fn comparison(&mut self) -> Result<Comparison, PatternError> {
        let at = self.peek()?.start;
        let path = self.object_path()?;
        self.comparisons += 1;
        if self.comparisons > MAX_COMPARISONS {
            return Err(error(
                at,
                format!("pattern has more than {MAX_COMPARISONS} comparisons"),
            ));
        }
        let negated = self.eat_keyword("NOT")?;
        let token = self.next()?;
        let operator = match token.tok {
            Tok::Cmp(op) => op,
            Tok::Word("IN") => Operator::In,
            Tok::Word("LIKE") => Operator::Like,
            Tok::Word("MATCHES") => Operator::Matches,
            Tok::Word("ISSUBSET") => Operator::IsSubset,
            Tok::Word("ISSUPERSET") => Operator::IsSuperset,
            _ => {
                return Err(self.unexpected(
                    &token,
                    "a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)",
                ))
            }
        };
        let value = match operator {
            Operator::In => self.set()?,
            Operator::Like | Operator::Matches | Operator::IsSubset | Operator::IsSuperset => {
                let token = self.next()?;
                match token.tok {
                    Tok::Str(s) => Constant::String(s),
                    _ => {
                        return Err(self.unexpected(&token, &format!("a string after `{operator}`")))
                    }
                }
            }
            Operator::Eq | Operator::Ne => self.scalar(true, operator)?,
            Operator::Gt | Operator::Lt | Operator::Ge | Operator::Le => {
                self.scalar(false, operator)?
            }
        };
        Ok(Comparison {
            path,
            negated,
            operator,
            value,
        })
    }

    /// A single constant; booleans only where `bool_ok`.
    fn scalar(&mut self, bool_ok: bool, after: Operator) -> Result<Constant, PatternError> {
        let token = self.next()?;
        Ok(match token.tok {
            Tok::Str(s) => Constant::String(s),
            Tok::Int(n) => Constant::Int(n),
            Tok::Float(x) => Constant::Float(x),
            Tok::Hex(b) => Constant::Hex(b),
            Tok::Bin(b) => Constant::Binary(b),
            Tok::Time(t) => Constant::Timestamp(t),
            Tok::Word("true") if bool_ok => Constant::Bool(true),
            Tok::Word("false") if bool_ok => Constant::Bool(false),
            Tok::Word("true" | "false") => {
                return Err(error(
                    token.start,
                    format!("a boolean cannot be compared with `{after}`"),
                ))
            }
            _ => return Err(self.unexpected(&token, &format!("a constant after `{after}`"))),
        })
    }

    /// `( constant, … )`, possibly empty.
    fn set(&mut self) -> Result<Constant, PatternError> {
        self.expect(&Tok::LParen, "`(` to start the list after `IN`")?;
        let mut items = Vec::new();
        if self.peek_is(&Tok::RParen)? {
            self.next()?;
            return Ok(Constant::List(items));
        }
        loop {
            items.push(self.scalar(true, Operator::In)?);
            let token = self.next()?;
            match token.tok {
                Tok::Comma => continue,
                Tok::RParen => return Ok(Constant::List(items)),
                _ => return Err(self.unexpected(&token, "`,` or `)` in the list after `IN`")),
            }
        }
    }

    /// `type:prop(.prop | [n] | [*])*`.
    fn object_path(&mut self) -> Result<ObjectPath, PatternError> {
        let token = self.next()?;
        let object_type = match token.tok {
            Tok::Word(w) if KEYWORDS.contains(&w) || w == "true" || w == "false" => {
                return Err(self.unexpected(&token, "an object path"))
            }
            Tok::Word(w) => w,
            _ => return Err(self.unexpected(&token, "an object path (`type:property`)")),
        };
        if !object_type
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            || !object_type.as_bytes()[0].is_ascii_lowercase()
        {
            return Err(error(
                token.start,
                format!(
                    "invalid object type `{object_type}`: only lowercase letters, digits and hyphens, starting with a letter"
                ),
            ));
        }
        self.expect(
            &Tok::Colon,
            &format!("`:` after the object type `{object_type}`"),
        )?;
        let mut steps = vec![PathStep::Property(self.property_name()?)];
        loop {
            if self.peek_is(&Tok::Dot)? {
                self.next()?;
                steps.push(PathStep::Property(self.property_name()?));
            } else if self.peek_is(&Tok::LBrack)? {
                self.next()?;
                let token = self.next()?;
                let step = match token.tok {
                    Tok::Star => Some(PathStep::AnyIndex),
                    Tok::Int(n) => usize::try_from(n).ok().map(PathStep::Index),
                    _ => None,
                };
                match step {
                    Some(step) => steps.push(step),
                    None => return Err(self.unexpected(&token, "a non-negative list index or `*`")),
                }
                self.expect(&Tok::RBrack, "`]` to close the list index")?;
            } else {
                return Ok(ObjectPath {
                    object_type: object_type.to_owned(),
                    steps,
                });
            }
        }
    }

    fn property_name(&mut self) -> Result<String, PatternError> {
        let token = self.next()?;
        match token.tok {
            Tok::Word(w) => Ok(w.to_owned()),
            Tok::Str(s) => Ok(s),
            _ => Err(self.unexpected(&token, "a property name")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(pattern: &str) -> Pattern {
        parse(pattern).unwrap_or_else(|e| panic!("{pattern}\n{e}"))
    }

    fn err(pattern: &str) -> PatternError {
        match parse(pattern) {
            Ok(tree) => panic!("{pattern} parsed: {tree:?}"),
            Err(e) => e,
        }
    }

    fn ts(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn path(object_type: &str, steps: &[PathStep]) -> ObjectPath {
        ObjectPath {
            object_type: object_type.to_owned(),
            steps: steps.to_vec(),
        }
    }

    fn prop(name: &str) -> PathStep {
        PathStep::Property(name.to_owned())
    }

    fn cmp(object_type: &str, property: &str, operator: Operator, value: Constant) -> Comparison {
        Comparison {
            path: path(object_type, &[prop(property)]),
            negated: false,
            operator,
            value,
        }
    }

    fn string(s: &str) -> Constant {
        Constant::String(s.to_owned())
    }

    fn only_comparison(pattern: &str) -> Comparison {
        let tree = ok(pattern);
        let all = tree.comparisons();
        assert_eq!(all.len(), 1, "{pattern}");
        all[0].clone()
    }

    fn observation(comparison: ComparisonExpr, qualifiers: Vec<Qualifier>) -> Pattern {
        Pattern::Observation {
            comparison,
            qualifiers,
        }
    }

    fn leaf(object_type: &str, property: &str, value: &str) -> ComparisonExpr {
        ComparisonExpr::Comparison(cmp(object_type, property, Operator::Eq, string(value)))
    }

    /// Every example pattern of STIX 2.1 section 9 (and the examples repeated in its tables).
    const SPEC_EXAMPLES: &[&str] = &[
        r"[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
        r"[email-message:from_ref.value MATCHES '.+\\@example\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\.exe$']",
        r"[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' AND file:mime_type = 'application/x-pdf']",
        r"[file:hashes.'SHA-256' = 'bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c' OR file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f'] AND [file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
        r"([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar']) WITHIN 300 SECONDS",
        r"[user-account:account_type = 'unix' AND user-account:user_id = '1007' AND user-account:account_login = 'Peter'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1008' AND user-account:account_login = 'Paul'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1009' AND user-account:account_login = 'Mary']",
        r"[user-account:account_type = 'unix' AND user-account:user_id = '1007' AND user-account:account_login = 'Peter'] AND [process:name = 'sshd']",
        r"[artifact:mime_type = 'application/vnd.tcpdump.pcap' AND artifact:payload_bin MATCHES '\\xd4\\xc3\\xb2\\xa1\\x02\\x00\\x04\\x00']",
        r"[file:name = 'foo.dll' AND file:parent_directory_ref.path = 'C:\\Windows\\System32']",
        r"[file:name = 'foo.dll' AND file:parent_directory_ref.path = 'C:\\Windows\\System32'] REPEATS 5 TIMES",
        r"[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]",
        r"[file:mime_type = 'image/bmp' AND file:magic_number_hex = h'ffd8']",
        r"[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']",
        r"[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value ISSUBSET '198.51.100.0/24']",
        r"[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com'] REPEATS 5 TIMES WITHIN 1800 SECONDS",
        r"[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = '198.51.100.1/32']",
        r"[url:value = 'http://example.com/foo' OR url:value = 'http://example.com/bar']",
        r"[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']",
        r"[windows-registry-key:key = 'HKEY_CURRENT_USER\\Software\\CryptoLocker\\Files' OR windows-registry-key:key = 'HKEY_CURRENT_USER\\Software\\Microsoft\\CurrentVersion\\Run\\CryptoLocker_0388']",
        r"[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\WSALG2']",
        r"[(file:name = 'pdf.exe' OR file:size = '371712') AND file:created = t'2014-01-13T07:03:17Z']",
        r"[email-message:sender_ref.value = 'jdoe@example.com' AND email-message:subject = 'Conference Info']",
        r"[x-usb-device:usbdrive.serial_number = '575833314133343231313937']",
        r"[process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachine Root$'] FOLLOWEDBY [process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachineTrustedPublisher$'] WITHIN 300 SECONDS",
        r"[network-traffic:dst_ref.value ISSUBSET '2001:0db8:dead:beef:0000:0000:0000:0000/64']",
        r"([file:name = 'foo.dll'] AND [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar']) OR [process:name = 'fooproc' OR process:name = 'procfoo']",
        r"[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32' OR ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128']",
        r"([ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32' OR ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128'] FOLLOWEDBY [domain-name:value = 'example.com']) WITHIN 600 SECONDS",
        r"[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
        r"[artifact:payload_bin = b'dGhpcyBpcyBhIHRlc3Q=']",
        r"[file:name = 'foo.dll']",
        r"[file:name != 'foo.dll']",
        r"[file:size > 1024]",
        r"[file:size < 1024]",
        r"[file:size >= 1024]",
        r"[file:size <= 1024]",
        r"[process:name IN ('proccy', 'proximus', 'badproc')]",
        r"[directory:path LIKE 'C:\\Windows\\%\\foo']",
        r"[directory:path MATCHES '^C:\\\\Windows\\\\w+$']",
        r"[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
        r"[ipv4-addr:value ISSUPERSET '198.51.100.0/24']",
        r"[file:name NOT = 'foo.dll']",
        r"[process:name NOT IN ('proccy', 'proximus', 'badproc')]",
        r"[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] REPEATS 5 TIMES",
        r"[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] WITHIN 5 SECONDS",
        r"[network-traffic:src_port = 37020 AND user-account:user_id = 'root'] START t'2016-06-01T01:30:00.123Z' STOP t'2016-06-01T02:20:00.123Z' OR [ipv4-addr:value = '192.168.122.83'] START t'2016-06-01T03:55:00.123Z' STOP t'2016-06-01T04:30:24.743Z'",
        r"[windows-registry-key:values[*].name = 'Foo' AND windows-registry-key:values[0].data = 'Bar']",
        r"[process:extensions.'windows-process-ext'.integrity_level = 'high']",
        r"[network-traffic:extensions.'tcp-ext'.src_flags_hex = h'00000002']",
        r"[email-message:is_multipart = true AND email-message:received_lines[1] LIKE '%example.com%']",
        r"[x509-certificate:validity_not_before < t'2016-01-20T12:31:12.12345Z']",
    ];

    #[test]
    fn parses_every_spec_example() {
        for example in SPEC_EXAMPLES {
            let tree = ok(example);
            assert!(!tree.comparisons().is_empty(), "{example}");
        }
    }

    #[test]
    fn single_comparison_tree() {
        assert_eq!(
            ok("[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']"),
            observation(
                ComparisonExpr::Comparison(Comparison {
                    path: path("file", &[prop("hashes"), prop("SHA-256")]),
                    negated: false,
                    operator: Operator::Eq,
                    value: string(
                        "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"
                    ),
                }),
                vec![],
            )
        );
    }

    #[test]
    fn object_paths_with_indexes_quotes_and_hyphens() {
        let c = only_comparison(
            "[email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']",
        );
        assert_eq!(
            c.path,
            path(
                "email-message",
                &[
                    prop("body_multipart"),
                    PathStep::AnyIndex,
                    prop("body_raw_ref"),
                    prop("name")
                ]
            )
        );
        assert_eq!(c.value, string(r"^Final Report.+\.exe$"));
        assert_eq!(
            c.path.property_path(),
            "body_multipart[*].body_raw_ref.name"
        );

        let c = only_comparison("[windows-registry-key:values[12].data = 'x']");
        assert_eq!(c.path.steps[1], PathStep::Index(12));
        assert_eq!(c.path.to_string(), "windows-registry-key:values[12].data");

        let c =
            only_comparison("[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]");
        assert_eq!(
            c.path.property_path(),
            "extensions.'windows-pebinary-ext'.sections[*].entropy"
        );
        assert_eq!(c.value, Constant::Float(7.0));
        // STIX 2.0 spelling without quotes: same path.
        let c2 =
            only_comparison("[file:extensions.windows-pebinary-ext.sections[*].entropy > 7.0]");
        assert_eq!(c2.path, c.path);

        // Unquoted and quoted spellings of a name agree; names outside [a-z0-9_] come out quoted.
        let a = only_comparison("[file:hashes.MD5 = 'x']");
        let b = only_comparison("[file:hashes.'MD5' = 'x']");
        assert_eq!(a.path, b.path);
        assert_eq!(a.path.property_path(), "hashes.'MD5'");
        assert_eq!(
            only_comparison(r"[x-foo:'it\'s' = 1]").path.property_path(),
            r"'it\'s'"
        );
        // Whitespace between path tokens is allowed, as in the reference grammar.
        assert_eq!(
            only_comparison("[file : hashes . 'SHA-1' = 'x']")
                .path
                .property_path(),
            "hashes.'SHA-1'"
        );
    }

    #[test]
    fn comparison_and_binds_tighter_than_or() {
        let tree = ok("[a:x = 'p' OR a:x = 'q' AND a:x = 'r']");
        assert_eq!(
            tree,
            observation(
                ComparisonExpr::Or(
                    Box::new(leaf("a", "x", "p")),
                    Box::new(ComparisonExpr::And(
                        Box::new(leaf("a", "x", "q")),
                        Box::new(leaf("a", "x", "r"))
                    ))
                ),
                vec![]
            )
        );
        let tree = ok("[(a:x = 'p' OR a:x = 'q') AND a:x = 'r']");
        assert_eq!(
            tree,
            observation(
                ComparisonExpr::And(
                    Box::new(ComparisonExpr::Or(
                        Box::new(leaf("a", "x", "p")),
                        Box::new(leaf("a", "x", "q"))
                    )),
                    Box::new(leaf("a", "x", "r"))
                ),
                vec![]
            )
        );
        // Left-associative chains.
        let tree = ok("[a:x = 'p' OR a:x = 'q' OR a:x = 'r']");
        assert_eq!(
            tree,
            observation(
                ComparisonExpr::Or(
                    Box::new(ComparisonExpr::Or(
                        Box::new(leaf("a", "x", "p")),
                        Box::new(leaf("a", "x", "q"))
                    )),
                    Box::new(leaf("a", "x", "r"))
                ),
                vec![]
            )
        );
    }

    fn obs(value: &str) -> Pattern {
        observation(leaf("a", "x", value), vec![])
    }

    #[test]
    fn observation_precedence_and_over_or_over_followedby() {
        let tree = ok("[a:x = '1'] FOLLOWEDBY [a:x = '2'] OR [a:x = '3'] AND [a:x = '4']");
        assert_eq!(
            tree,
            Pattern::FollowedBy(
                Box::new(obs("1")),
                Box::new(Pattern::Or(
                    Box::new(obs("2")),
                    Box::new(Pattern::And(Box::new(obs("3")), Box::new(obs("4"))))
                ))
            )
        );
        let tree = ok("[a:x = '1'] AND [a:x = '2'] FOLLOWEDBY [a:x = '3'] OR [a:x = '4']");
        assert_eq!(
            tree,
            Pattern::FollowedBy(
                Box::new(Pattern::And(Box::new(obs("1")), Box::new(obs("2")))),
                Box::new(Pattern::Or(Box::new(obs("3")), Box::new(obs("4"))))
            )
        );
        let tree = ok("[a:x = '1'] FOLLOWEDBY [a:x = '2'] FOLLOWEDBY [a:x = '3']");
        assert_eq!(
            tree,
            Pattern::FollowedBy(
                Box::new(Pattern::FollowedBy(Box::new(obs("1")), Box::new(obs("2")))),
                Box::new(obs("3"))
            )
        );
        // Parentheses override, and a group without qualifiers leaves no trace.
        let tree = ok("(([a:x = '1'] OR [a:x = '2'])) AND [a:x = '3']");
        assert_eq!(
            tree,
            Pattern::And(
                Box::new(Pattern::Or(Box::new(obs("1")), Box::new(obs("2")))),
                Box::new(obs("3"))
            )
        );
    }

    #[test]
    fn qualifiers_bind_to_the_observation_or_group_they_follow() {
        let tree = ok("([ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32' OR ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128'] FOLLOWEDBY [domain-name:value = 'example.com']) WITHIN 600 SECONDS");
        let Pattern::Qualified(inner, qualifiers) = &tree else {
            panic!("{tree:?}")
        };
        assert_eq!(qualifiers, &vec![Qualifier::Within(600.0)]);
        assert!(matches!(**inner, Pattern::FollowedBy(..)));
        assert_eq!(tree.comparisons().len(), 4);

        // Without parentheses the qualifier belongs to the last observation only.
        let tree = ok("[a:x = '1'] FOLLOWEDBY [a:x = '2'] WITHIN 300 SECONDS");
        assert_eq!(
            tree,
            Pattern::FollowedBy(
                Box::new(obs("1")),
                Box::new(observation(
                    leaf("a", "x", "2"),
                    vec![Qualifier::Within(300.0)]
                ))
            )
        );

        let tree = ok("[a:x = '1'] REPEATS 5 TIMES WITHIN 1800 SECONDS START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00.5Z'");
        assert_eq!(
            tree,
            observation(
                leaf("a", "x", "1"),
                vec![
                    Qualifier::Repeats(5),
                    Qualifier::Within(1800.0),
                    Qualifier::StartStop {
                        start: ts("2016-06-01T00:00:00Z"),
                        stop: ts("2016-07-01T00:00:00.5Z")
                    }
                ]
            )
        );
        assert_eq!(
            ok("[a:x = '1'] WITHIN 0.5 SECONDS"),
            observation(leaf("a", "x", "1"), vec![Qualifier::Within(0.5)])
        );
        // STIX 2.0 wrote START/STOP timestamps as plain strings.
        assert_eq!(
            ok("[a:x = '1'] START '2016-06-01T00:00:00Z' STOP '2016-07-01T00:00:00Z'"),
            ok("[a:x = '1'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'")
        );
        // Qualifiers on a group and on the observation inside it may repeat kinds.
        let tree = ok("([a:x = '1'] REPEATS 2 TIMES) REPEATS 3 TIMES");
        assert_eq!(
            tree,
            Pattern::Qualified(
                Box::new(observation(
                    leaf("a", "x", "1"),
                    vec![Qualifier::Repeats(2)]
                )),
                vec![Qualifier::Repeats(3)]
            )
        );
    }

    #[test]
    fn duplicate_qualifier_on_one_observation_is_refused() {
        let e = err("[a:x = '1'] WITHIN 5 SECONDS WITHIN 6 SECONDS");
        assert_eq!(e.position, 29);
        assert!(e.message.contains("WITHIN"), "{e}");
        let e = err("[a:x = '1'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z' START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'");
        assert_eq!(e.position, 71);
    }

    #[test]
    fn constants_of_every_kind() {
        let value = |pattern: &str| only_comparison(pattern).value;
        assert_eq!(value("[a:x = 'it\\'s \\\\ ok']"), string(r"it's \ ok"));
        assert_eq!(value("[a:x = '']"), string(""));
        assert_eq!(value("[a:x = 'héllo ☃']"), string("héllo ☃"));
        assert_eq!(value("[a:x = 42]"), Constant::Int(42));
        assert_eq!(value("[a:x = -42]"), Constant::Int(-42));
        assert_eq!(value("[a:x = +7]"), Constant::Int(7));
        assert_eq!(value("[a:x = 0]"), Constant::Int(0));
        assert_eq!(value("[a:x > -0.25]"), Constant::Float(-0.25));
        assert_eq!(value("[a:x < .5]"), Constant::Float(0.5));
        assert_eq!(value("[a:x = h'0aFF']"), Constant::Hex(vec![0x0a, 0xff]));
        assert_eq!(value("[a:x = h'']"), Constant::Hex(vec![]));
        assert_eq!(
            value("[artifact:payload_bin = b'dGhpcyBpcyBhIHRlc3Q=']"),
            Constant::Binary(b"this is a test".to_vec())
        );
        assert_eq!(value("[a:x = b'YQ==']"), Constant::Binary(b"a".to_vec()));
        assert_eq!(value("[a:x = b'YWI=']"), Constant::Binary(b"ab".to_vec()));
        assert_eq!(value("[a:x = b'YWJj']"), Constant::Binary(b"abc".to_vec()));
        assert_eq!(
            value("[a:x = t'2016-01-20T12:31:12.12345Z']"),
            Constant::Timestamp(ts("2016-01-20T12:31:12.12345Z"))
        );
        assert_eq!(value("[a:x = true]"), Constant::Bool(true));
        assert_eq!(value("[a:x != false]"), Constant::Bool(false));
        assert_eq!(
            value("[file:size IN (1024, 2048, 4096)]"),
            Constant::List(vec![
                Constant::Int(1024),
                Constant::Int(2048),
                Constant::Int(4096)
            ])
        );
        assert_eq!(value("[a:x IN ()]"), Constant::List(vec![]));
        assert_eq!(value("[a:x == 1]"), Constant::Int(1));
        assert_eq!(only_comparison("[a:x <> 1]").operator, Operator::Ne);
    }

    #[test]
    fn operators_and_not() {
        let cases = [
            ("=", Operator::Eq),
            ("!=", Operator::Ne),
            (">", Operator::Gt),
            ("<", Operator::Lt),
            (">=", Operator::Ge),
            ("<=", Operator::Le),
            ("LIKE", Operator::Like),
            ("MATCHES", Operator::Matches),
            ("ISSUBSET", Operator::IsSubset),
            ("ISSUPERSET", Operator::IsSuperset),
        ];
        for (text, operator) in cases {
            let c = only_comparison(&format!("[a:x {text} 's']"));
            assert_eq!((c.operator, c.negated), (operator, false), "{text}");
            let c = only_comparison(&format!("[a:x NOT {text} 's']"));
            assert_eq!((c.operator, c.negated), (operator, true), "{text}");
            assert_eq!(operator.to_string(), text);
        }
        let c = only_comparison("[file:name NOT IN ('a', 'b')]");
        assert_eq!((c.operator, c.negated), (Operator::In, true));
        // No space needed between a keyword and a string, or around operators.
        let c = only_comparison("[process:command_line MATCHES'^x$']");
        assert_eq!(c.value, string("^x$"));
        assert_eq!(
            only_comparison("[a:x='1']").value,
            only_comparison("[ a:x = '1' ]").value
        );
        // Nested parentheses and odd whitespace, as in the reference validator's tests.
        let tree = ok("( [(network-traffic:dst_port IN(443,6443,8443) AND network-traffic:src_packets != 0) ])");
        assert_eq!(tree.comparisons().len(), 2);
        let tree = ok("[((a:x = 1 OR (a:x = 2)) AND ((a:y = 3)))]");
        assert_eq!(tree.comparisons().len(), 3);
        // Comments are whitespace.
        assert_eq!(
            ok("[a:x /* the x */ = '1'] // trailing\n"),
            ok("[a:x = '1']")
        );
    }

    #[test]
    fn comparisons_are_listed_in_order() {
        let tree = ok(
            r"([file:name = 'foo.dll'] AND [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar']) OR [process:name = 'fooproc' OR process:name = 'procfoo'] FOLLOWEDBY [x-a:b = 1]",
        );
        let named: Vec<String> = tree
            .comparisons()
            .iter()
            .map(|c| c.path.to_string())
            .collect();
        assert_eq!(
            named,
            [
                "file:name",
                "windows-registry-key:key",
                "process:name",
                "process:name",
                "x-a:b"
            ]
        );
    }

    #[track_caller]
    fn err_at(pattern: &str, position: usize, needle: &str) {
        let e = err(pattern);
        assert_eq!(e.position, position, "{pattern}: {e}");
        assert!(e.message.contains(needle), "{pattern}: {e}");
        assert_eq!(
            e.to_string(),
            format!("at position {position}: {}", e.message)
        );
    }

    #[test]
    fn invalid_patterns_report_where() {
        // Structure.
        err_at("", 0, "`[` or `(`");
        err_at("file:size = 1280", 0, "`[` or `(`");
        err_at("[file:size = 1280", 17, "the end of the pattern");
        err_at("([file:size = 1280]", 19, "`)`");
        err_at("[file:size = 1280]]", 18, "found `]`");
        err_at("[file:size = 1280] [file:size = 1]", 19, "found `[`");
        err_at("[file:size = 1280] garbage", 19, "`garbage`");
        err_at("[]", 1, "empty observation expression");
        err_at("[ ] AND [a:x = 1]", 2, "empty observation expression");
        err_at("()", 1, "`[` or `(`");
        err_at("[a:x = 1] AND", 13, "the end of the pattern");
        err_at("[(a:x = 1]", 9, "`)`");
        // Keywords are upper case.
        err_at("[a:x = 1 and a:y = 2]", 9, "keywords are upper case: `AND`");
        err_at("[a:x = 1] and [a:y = 2]", 10, "`AND`");
        err_at("[foo:bar=1] within 2 seconds", 12, "`WITHIN`");
        err_at("[a:x = 1] FollowedBy [a:y = 2]", 10, "`FOLLOWEDBY`");
        err_at("[a:x like 'a%']", 5, "`LIKE`");
        err_at("[a:x = TRUE]", 7, "booleans are written `true`");
        // Operators and values.
        err_at("[file:name 'foo']", 11, "comparison operator");
        err_at("[file:size = ]", 13, "a constant");
        err_at(
            "[file:hashes.MD5 = cead3f77f6cda6ec00f57d76c9a6879f]",
            19,
            "a constant",
        );
        err_at("[file:hashes.MD5 =? 'x']", 18, "unexpected character '?'");
        err_at(
            "[file:name MATCHES /.*\\.dll/]",
            19,
            "unexpected character '/'",
        );
        err_at("[network-traffic:dst_ref.value ISSUBSET ]", 40, "a string");
        err_at("[file:size LIKE 5]", 16, "a string");
        err_at("[a:x > true]", 7, "boolean");
        err_at("[a:x IN 'a']", 8, "`(`");
        err_at("[a:x IN ('a' 'b')]", 13, "`,` or `)`");
        err_at("[a:x IN ('a',)]", 13, "a constant");
        err_at("[a:x NOT 'a']", 9, "comparison operator");
        err_at("[a:x ! 'a']", 5, "unexpected character '!'");
        // Constants.
        err_at(r"[a:x = 'bad \q escape']", 12, r"invalid escape `\q`");
        err_at(r"[a:x = 'ok \\ then \n']", 19, r"invalid escape `\n`");
        err_at("[a:x = 'unterminated]", 7, "unterminated string");
        err_at(r"[a:x = 'trailing \']", 7, "unterminated string");
        err_at("[a:x = h'abc']", 7, "even number of hex digits");
        err_at("[a:x = h'zz']", 7, "hex");
        err_at("[artifact:payload_bin = b'====']", 24, "base64");
        err_at("[a:x = b'YQ=']", 7, "base64");
        err_at("[a:x = b'Y=Q=']", 7, "base64");
        err_at("[a:x = b'dGhp!cyBp']", 7, "base64");
        err_at(
            "[x_whatever:detected == t'2457-73-22T32:81:84.1Z']",
            1,
            "object type",
        );
        err_at(
            "[a:detected = t'2457-73-22T32:81:84.1Z']",
            14,
            "invalid timestamp",
        );
        err_at(
            "[a:detected = t'2016-02-30T00:00:00Z']",
            14,
            "invalid timestamp",
        );
        err_at(
            "[a:detected = t'2016-01-20T12:31:12+01:00']",
            14,
            "invalid timestamp",
        );
        err_at(
            "[a:detected = t'2016-01-20 12:31:12Z']",
            14,
            "invalid timestamp",
        );
        err_at(
            "[a:detected = t'2016-01-20T12:31:12.Z']",
            14,
            "invalid timestamp",
        );
        err_at("[a:x = 007]", 7, "leading zeros");
        err_at("[a:x = 99999999999999999999]", 7, "out of range");
        // Qualifiers.
        err_at("[a:x = 1] WITHIN SECONDS", 17, "positive number of seconds");
        err_at("[a:x = 1] WITHIN ]", 17, "positive number of seconds");
        err_at(
            "[a:x = 1] WITHIN -5 SECONDS",
            17,
            "positive number of seconds",
        );
        err_at(
            "[a:x = 1] WITHIN 0 SECONDS",
            17,
            "positive number of seconds",
        );
        err_at("[a:x = 1] WITHIN 5 HOURS", 19, "`SECONDS`");
        err_at("[a:x = 1] WITHIN 5", 18, "`SECONDS`");
        err_at("[a:x = 1] REPEATS TIMES", 18, "positive whole number");
        err_at("[a:x = 1] REPEATS 2.5 TIMES", 18, "positive whole number");
        err_at("[a:x = 1] REPEATS 5", 19, "`TIMES`");
        err_at("[a:x = 1] START t'2016-06-01T00:00:00Z'", 39, "`STOP`");
        err_at(
            "[a:x = 1] START 5 STOP t'2016-06-01T00:00:00Z'",
            16,
            "timestamp",
        );
        err_at(
            "[a:x = 1] START 'yesterday' STOP t'2016-06-01T00:00:00Z'",
            16,
            "invalid timestamp",
        );
        // Object paths.
        err_at("[file.size = 1280]", 5, "`:` after the object type `file`");
        err_at("[file = 1280]", 6, "`:`");
        err_at("[File:name = 'x']", 1, "invalid object type `File`");
        err_at("[IPV4-ADDR:value = 'x']", 1, "invalid object type");
        err_at("[file: = 'x']", 7, "a property name");
        err_at("[file:hashes. = 'x']", 14, "a property name");
        err_at("[file:a[-1] = 'x']", 8, "non-negative list index");
        err_at("[file:a[x] = 'x']", 8, "non-negative list index");
        err_at("[file:a[0 = 'x']", 10, "`]`");
        err_at("[NOT file:name = 'x']", 1, "an object path");
        err_at("['file':name = 'x']", 1, "an object path");
        err_at("[4file:name = 'x']", 1, "an object path");
        // Position is a byte offset, also after multi-byte characters.
        err_at("[a:x = 'é'] é", 13, "unexpected character 'é'");
    }

    /// The pass and fail cases of the reference validator (oasis-open/cti-pattern-validator, STIX 2.1),
    /// with its error positions where it reports the same fault.
    #[test]
    fn agrees_with_the_reference_validator() {
        let pass = [
            "[file:size = 1280]",
            "[file:size != 1280]",
            "[file:size < 1024]",
            "[file:size <= 1024]",
            "[file:size > 1024]",
            "[file:size >= 1024]",
            "[file:file_name = 'my_file_name']",
            "[file:extended_properties.'ntfs-ext'.sid = '234']",
            r"[emailaddr:value MATCHES '.+\\@ibm\\.com$' OR file:name MATCHES '^Final Report.+\\.exe$']",
            "[ipv4addr:value ISSUBSET '192.168.0.1/24']",
            "[ipv4addr:value NOT ISSUBSET '192.168.0.1/24']",
            "[user-account:value = 'Peter'] AND [user-account:value != 'Paul'] AND [user-account:value = 'Mary'] WITHIN 5 SECONDS",
            "[file:file_system_properties.file_name LIKE 'name%']",
            "[file:file_name IN ('test.txt', 'test2.exe', 'README')]",
            "[network-connection:extended_properties[0].source_payload MATCHES 'dGVzdHRlc3R0ZXN0']",
            r"[win-registry-key:key = 'hkey_local_machine\\foo\\bar'] WITHIN 5 SECONDS",
            "[foo:bar=1] REPEATS 9 TIMES",
            "[network-traffic:start = '2018-04-20T12:36:24.558Z']",
            r"([win-registry-key:key = 'hkey_local_machine\\foo\\bar']) WITHIN 5 SECONDS WITHIN 6 SECONDS",
            r"([win-registry-key:key = 'hkey_local_machine\\foo\\bar'] REPEATS 2 TIMES) REPEATS 2 TIMES",
        ];
        for pattern in pass {
            ok(pattern);
        }
        let key = r"[win-registry-key:key = 'hkey_local_machine\\foo\\bar']";
        err_at(&format!("{key} WITHIN ]"), 63, "positive number of seconds");
        err_at(&format!("{key} WITHIN 5 HOURS]"), 65, "`SECONDS`");
        err_at(
            &format!("{key} WITHIN -5 SECONDS]"),
            63,
            "positive number of seconds",
        );
        err_at(
            &format!("{key} WITHIN 5 SECONDS WITHIN 6 SECONDS"),
            73,
            "at most one `WITHIN`",
        );
        err_at(
            &format!("({key} REPEATS 2 TIMES REPEATS 3 TIMES)"),
            73,
            "at most one `REPEATS`",
        );
        err_at("[foo:bar=1] within 2 seconds", 12, "`within`");
        err_at("[artifact:payload_bin = b'====']", 24, "base64");
        err_at(
            "[file:hashes.MD5 =? 'cead3f77f6cda6ec00f57d76c9a6879f']",
            18,
            "'?'",
        );
        err_at("[network-traffic:dst_ref.value ISSUBSET ]", 40, "a string");
        err_at("[file.size = 1280]", 5, "`:`");
        err_at("[file:size = ]", 13, "a constant");
        err_at("file:size = 1280", 0, "`[` or `(`");
        // STIX 2.1 object types are lowercase letters, digits and hyphens: no underscore.
        err_at(
            "[x_whatever:detected == t'2018-03-22T12:11:14.1Z']",
            1,
            "object type",
        );
    }

    #[test]
    fn refuses_absurd_nesting_and_size_without_overflowing() {
        let deep = format!("{}[a:x = 1]{}", "(".repeat(10_000), ")".repeat(10_000));
        err_at(&deep, MAX_NESTING, "nested");
        let deep = format!("[{}a:x = 1{}]", "(".repeat(10_000), ")".repeat(10_000));
        err_at(&deep, MAX_NESTING, "nested");

        let many = format!("[{}]", vec!["a:x = 1"; MAX_COMPARISONS + 1].join(" OR "));
        err_at(
            &many,
            1 + MAX_COMPARISONS * 11,
            "more than 1000 comparisons",
        );

        // The largest accepted chains can be walked, compared, cloned, printed and dropped on a tokio
        // worker's stack.
        let handle = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(|| {
                let limit = format!("[{}]", vec!["a:x = 1"; MAX_COMPARISONS].join(" OR "));
                let tree = parse(&limit).unwrap();
                assert_eq!(tree.comparisons().len(), MAX_COMPARISONS);
                let copy = tree.clone();
                assert_eq!(copy, tree);
                assert!(!format!("{tree:?}").is_empty());
                drop(copy);
                let observations = vec!["[a:x = 1]"; MAX_COMPARISONS].join(" FOLLOWEDBY ");
                let tree = parse(&observations).unwrap();
                let copy = tree.clone();
                assert_eq!(copy, tree);
                assert!(!format!("{tree:?}").is_empty());
                assert_eq!(indexable_comparisons(&tree), vec![]);
            })
            .unwrap();
        handle.join().unwrap();
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(t, v)| ((*t).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn indexable_comparisons_pick_string_equalities() {
        let tree = ok("[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32' OR ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128'] FOLLOWEDBY [domain-name:value = 'Example.COM']");
        assert_eq!(
            indexable_comparisons(&tree),
            // The observable normal form: single-host CIDR suffixes dropped, so a lookup of the bare
            // address finds them.
            pairs(&[
                ("ipv4-addr:value", "198.51.100.1"),
                ("ipv4-addr:value", "203.0.113.33"),
                ("ipv6-addr:value", "2001:0db8:dead:beef:dead:beef:dead:0001"),
                ("domain-name:value", "example.com"),
            ])
        );

        let tree = ok("[file:hashes.'SHA-256' = 'AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F' OR file:hashes.MD5 = 'CEAD3F77F6CDA6EC00F57D76C9A6879F' OR file:name = 'Foo.DLL']");
        assert_eq!(
            indexable_comparisons(&tree),
            pairs(&[
                (
                    "file:hashes.'SHA-256'",
                    "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"
                ),
                ("file:hashes.'MD5'", "cead3f77f6cda6ec00f57d76c9a6879f"),
                ("file:name", "Foo.DLL"),
            ])
        );

        let tree = ok("[url:value = 'http://Example.com/A' AND email-addr:value = 'JDoe@Example.com'] AND [email-message:subject = 'Hi']");
        assert_eq!(
            indexable_comparisons(&tree),
            pairs(&[
                ("url:value", "http://Example.com/A"),
                ("email-addr:value", "jdoe@example.com"),
                ("email-message:subject", "Hi"),
            ])
        );

        // IN lists contribute their strings; negated comparisons, other operators and non-strings don't.
        let tree = ok("[ipv4-addr:value IN ('10.0.0.1', '10.0.0.2', 3) OR ipv4-addr:value NOT = '10.0.0.3' OR ipv4-addr:value NOT IN ('10.0.0.4') OR ipv4-addr:value != '10.0.0.5' OR ipv4-addr:value ISSUBSET '10.0.0.0/8' OR file:size = 5 OR domain-name:value LIKE '%.evil' OR ipv4-addr:value = '10.0.0.1']");
        assert_eq!(
            indexable_comparisons(&tree),
            pairs(&[
                ("ipv4-addr:value", "10.0.0.1"),
                ("ipv4-addr:value", "10.0.0.2"),
            ])
        );
    }

    #[test]
    fn many_generated_indicators_parse() {
        let start = std::time::Instant::now();
        let mut total = 0;
        for a in 0..4 {
            for b in 0..250 {
                let tree = ok(&format!("[ipv4-addr:value = '10.0.{a}.{b}']"));
                total += indexable_comparisons(&tree).len();
            }
        }
        assert_eq!(total, 1000);
        let list: Vec<String> = (0..20_000)
            .map(|i| format!("'10.{}.{}.1'", i / 256, i % 256))
            .collect();
        let tree = ok(&format!("[ipv4-addr:value IN ({})]", list.join(", ")));
        assert_eq!(indexable_comparisons(&tree).len(), 20_000);
        // Generous even for a debug build on a busy machine; catches accidental quadratic behaviour.
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }
}
