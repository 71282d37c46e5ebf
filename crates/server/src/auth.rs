//! Password hashing (argon2) and session tokens.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::distributions::{Alphanumeric, DistString};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Hashes a password into a PHC string with a fresh salt.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters accepts any password")
        .to_string()
}

/// The password as a crypt(3) SHA-512 string (`$6$...`, what `/etc/shadow` holds), so the
/// user's SSH login takes the same password as the browser and the API.
pub fn unix_password_hash(password: &str) -> String {
    let params = sha_crypt::Sha512Params::new(sha_crypt::ROUNDS_DEFAULT)
        .expect("the default number of rounds is valid");
    sha_crypt::sha512_simple(password, &params).expect("SHA-512 crypt takes any password")
}

/// Checks a password against a PHC string; a malformed hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A new random session or API token (256 bits, hex).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the store keeps of a token: its SHA-256, so a copied database grants no access.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A random initial password for padmin.
pub fn new_password() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash_password("secret-pass");
        let b = hash_password("secret-pass");
        assert_ne!(a, b);
        assert!(verify_password("secret-pass", &a));
        assert!(!verify_password("wrong-pass", &a));
        assert!(!verify_password("secret-pass", "not a phc string"));
        assert_ne!(new_token(), new_token());
        assert_eq!(token_hash("x").len(), 64);
    }
}
