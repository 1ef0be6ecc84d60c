//! API keys and roles. A request presents its key as `Authorization: Bearer KEY` or
//! `X-API-Key: KEY`; the key's roles decide what it may do. In development mode (no keys
//! configured, loopback address) every request acts as `dev` with every role.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};

use crate::config::{ApiKey, Role};
use crate::error::ApiError;
use crate::state::AppState;

/// Who is calling, as established by the key.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key's name (`dev` in development mode).
    pub name: Arc<str>,
    roles: Arc<[Role]>,
}

impl Caller {
    /// True when the caller has the role.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Succeeds when the caller has one of the roles; else 403 naming them.
    pub fn require(&self, any_of: &[Role]) -> Result<(), ApiError> {
        if any_of.iter().any(|r| self.has(*r)) {
            return Ok(());
        }
        let names: Vec<String> = any_of.iter().map(|r| format!("{r:?}").to_ascii_lowercase()).collect();
        Err(ApiError {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: format!("the key {:?} needs one of the roles {}", self.name, names.join(", ")),
        })
    }
}

/// The configured keys, by key.
#[derive(Debug, Default)]
pub struct Keys {
    /// Development mode: no keys, every caller is `dev`.
    pub dev: bool,
    by_key: HashMap<Box<str>, Caller>,
}

impl Keys {
    /// Resolves the configured keys (reading `key_env` variables). Fails when a variable is
    /// missing or two keys are equal.
    pub fn new(keys: &[ApiKey]) -> Result<Keys, String> {
        let mut by_key = HashMap::new();
        for k in keys {
            let secret = match (&k.key, &k.key_env) {
                (Some(v), _) => v.clone(),
                (None, Some(var)) => std::env::var(var)
                    .map_err(|_| format!("API key {:?}: environment variable {var} is not set", k.name))?,
                (None, None) => return Err(format!("API key {:?} has no key", k.name)),
            };
            if secret.len() < 16 {
                return Err(format!("API key {:?} is shorter than 16 characters", k.name));
            }
            let caller = Caller {
                name: Arc::from(k.name.as_str()),
                roles: Arc::from(k.roles.as_slice()),
            };
            if by_key.insert(secret.into_boxed_str(), caller).is_some() {
                return Err(format!("API key {:?} is the same as another key", k.name));
            }
        }
        Ok(Keys {
            dev: keys.is_empty(),
            by_key,
        })
    }

    /// The caller a key belongs to. Every configured key is compared in full, so that the
    /// time taken says nothing about how close a guess was.
    fn lookup(&self, presented: &str) -> Option<&Caller> {
        let mut found = None;
        for (key, caller) in &self.by_key {
            if constant_time_eq(key.as_bytes(), presented.as_bytes()) {
                found = Some(caller);
            }
        }
        found
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The development caller: every role (made once; each request clones two `Arc`s).
fn dev_caller() -> Caller {
    static DEV: std::sync::OnceLock<Caller> = std::sync::OnceLock::new();
    DEV.get_or_init(|| Caller {
        name: Arc::from("dev"),
        roles: Arc::from(
            [
                Role::Operator,
                Role::Regulator,
                Role::Advertiser,
                Role::Bank,
                Role::Public,
            ]
            .as_slice(),
        ),
    })
    .clone()
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let keys = &state.keys;
        if keys.dev {
            return Ok(dev_caller());
        }
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .or_else(|| parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()));
        let Some(presented) = presented else {
            return Err(ApiError {
                status: StatusCode::UNAUTHORIZED,
                code: "unauthorized",
                message: "an API key is required: `Authorization: Bearer KEY` or `X-API-Key: KEY`".into(),
            });
        };
        keys.lookup(presented.trim()).cloned().ok_or(ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: "unknown API key".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        let keys = Keys::new(&[ApiKey {
            name: "noc".into(),
            key: Some("0123456789abcdef0123".into()),
            key_env: None,
            roles: vec![Role::Operator],
        }])
        .unwrap();
        assert!(!keys.dev);
        assert_eq!(&*keys.lookup("0123456789abcdef0123").unwrap().name, "noc");
        assert!(keys.lookup("0123456789abcdef0124").is_none());
        assert!(keys.lookup("").is_none());
        let c = keys.lookup("0123456789abcdef0123").unwrap();
        assert!(c.require(&[Role::Operator, Role::Regulator]).is_ok());
        assert_eq!(c.require(&[Role::Bank]).unwrap_err().status, StatusCode::FORBIDDEN);
    }

    #[test]
    fn weak_or_missing_keys_are_refused() {
        let short = ApiKey {
            name: "x".into(),
            key: Some("short".into()),
            key_env: None,
            roles: vec![Role::Operator],
        };
        assert!(Keys::new(&[short]).is_err());
        let env = ApiKey {
            name: "y".into(),
            key: None,
            key_env: Some("CHANRAC_TEST_SURELY_UNSET_VARIABLE".into()),
            roles: vec![Role::Operator],
        };
        assert!(Keys::new(&[env]).unwrap_err().contains("not set"));
        assert!(Keys::new(&[]).unwrap().dev);
    }
}

/// Fixed one-minute allowances by key (a public API key, a reporter's number): how the
/// public role is kept from flooding an endpoint. Bounded: past 100,000 keys, those of
/// earlier minutes are forgotten.
#[derive(Debug, Default)]
pub struct MinuteAllowance {
    used: std::sync::Mutex<std::collections::HashMap<String, (u64, u32)>>,
}

impl MinuteAllowance {
    /// Counts `n` uses by `key` this minute; past `per_minute`, a 429 `rate_limited` that
    /// names the allowance (`what` a minute) and when it resets.
    pub fn take(&self, key: &str, per_minute: u32, n: u32, what: &str) -> Result<(), crate::error::ApiError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let minute = now / 60;
        let mut map = self
            .used
            .lock()
            .map_err(|_| crate::error::ApiError::internal("rate limiter poisoned"))?;
        if map.len() > 100_000 {
            map.retain(|_, (m, _)| *m == minute);
        }
        let slot = map.entry(key.to_string()).or_insert((minute, 0));
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        if slot.1.saturating_add(n) > per_minute {
            return Err(crate::error::ApiError {
                status: axum::http::StatusCode::TOO_MANY_REQUESTS,
                code: "rate_limited",
                message: format!(
                    "the public allowance is {per_minute} {what} a minute; try again in {} s",
                    60 - now % 60
                ),
            });
        }
        slot.1 += n;
        Ok(())
    }
}
