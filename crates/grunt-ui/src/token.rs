//! The session token: made once per `grunt ui` from the OS's random source, and compared in
//! constant time so its bytes cannot be guessed one by one from response times.

use subtle::ConstantTimeEq;

/// A random token, 32 bytes as 64 hex digits.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Token {
    /// A fresh token from the OS's random source.
    pub fn generate() -> anyhow::Result<Token> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| anyhow::anyhow!("no random source for the ui token: {e}"))?;
        Ok(Token(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// A given token (tests).
    pub fn from_text(text: &str) -> Token {
        Token(text.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Does `given` equal the token? Constant time in the token's contents.
    pub fn matches(&self, given: &str) -> bool {
        // Lengths differ only for garbage; the comparison of equal lengths is what must not leak.
        self.0.len() == given.len() && bool::from(self.0.as_bytes().ct_eq(given.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::Token;

    #[test]
    fn generated_tokens_differ_and_match_only_themselves() {
        let a = Token::generate().unwrap_or_else(|_| Token::from_text("x"));
        let b = Token::generate().unwrap_or_else(|_| Token::from_text("y"));
        assert_eq!(a.as_str().len(), 64);
        assert_ne!(a.as_str(), b.as_str());
        assert!(a.matches(a.as_str()));
        assert!(!a.matches(b.as_str()));
        assert!(!a.matches(""));
    }
}
