//! Randomness from the operating system, the one source for secrets,
//! tokens and jitter.

/// `N` random bytes. Fails only where the operating system has no
/// randomness to give, which nothing secret may do without.
pub fn bytes<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)?;
    Ok(buf)
}

/// A random number for jitter; where the system's randomness is missing,
/// the clock's nanoseconds (jitter needs spread, not secrecy).
pub fn jitter_u64() -> u64 {
    getrandom::u64().unwrap_or_else(|_| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::from(d.subsec_nanos()))
            .unwrap_or(0)
    })
}

/// `N` random bytes as lower-case hex (`2N` characters).
pub fn hex<const N: usize>() -> Result<String, getrandom::Error> {
    Ok(hex::encode(bytes::<N>()?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn draws_differ() {
        let a = super::hex::<16>().unwrap();
        let b = super::hex::<16>().unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
