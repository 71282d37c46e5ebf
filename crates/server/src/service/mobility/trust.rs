//! The trust between two ivm hosts: this host's SSH key given once to a user of the other
//! (`mkauthkeys --ip HOST -u USER`, that user's password asked once and never kept), then
//! every migration step runs over SSH with the key, the other host's key as first seen.

use std::path::PathBuf;
use std::time::Duration;

use ivm_host::ssh::{Identity, Peer};
use ivm_model::TrustRequest;
use ivm_rules::RuleError;

use crate::runtime::HostError;
use crate::service::{Actor, Service, ServiceError};

/// How long one remote step may take (a login and one command).
pub(super) const REMOTE_TIMEOUT: Duration = Duration::from_secs(60);

impl Service {
    /// This host's SSH identity (made at first use).
    pub(super) fn ssh_identity(&self) -> Result<Identity, ServiceError> {
        Identity::open(&self.data_dir.join("ssh")).map_err(|e| HostError::from(e).into())
    }

    /// The askpass helper: a link to this binary under the name that prints a password from
    /// its environment.
    fn askpass(&self) -> Result<PathBuf, ServiceError> {
        let link = self.data_dir.join("ssh").join(ivm_host::ssh::ASKPASS_NAME);
        let exe = std::env::current_exe().map_err(|e| HostError::Io {
            action: "find",
            path: "/proc/self/exe".into(),
            source: e,
        })?;
        if std::fs::read_link(&link).ok().as_deref() != Some(exe.as_path()) {
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&exe, &link).map_err(|e| HostError::Io {
                action: "link",
                path: link.clone(),
                source: e,
            })?;
        }
        Ok(link)
    }

    /// The other host's user as ssh reaches it, checked by the rules first.
    pub(super) fn peer(ip: &str, user: &str) -> Result<Peer, ServiceError> {
        let (host, port) = ivm_rules::check_peer(ip, user)?;
        Ok(Peer {
            host,
            port,
            user: user.to_string(),
        })
    }

    /// The refusal for a remote step that failed before the other ivm answered.
    pub(super) fn no_trust(peer: &Peer, ip: &str, e: ivm_host::ssh::SshError) -> ServiceError {
        RuleError::NoTrust {
            target: format!("{}@{ip}", peer.user),
            cause: e.to_string(),
            ip: ip.to_string(),
            user: peer.user.clone(),
        }
        .into()
    }

    /// The refusal for a password login that failed: ssh could not reach or log in (the
    /// address, the user or the password), or the other ivm refused the key.
    fn login_failed(target: &str, ip: &str, e: ivm_host::ssh::SshError) -> ServiceError {
        use ivm_host::ssh::SshError;
        match e {
            SshError::Connect(cause) => RuleError::PeerLogin {
                target: target.to_string(),
                cause,
            }
            .into(),
            SshError::Timeout(_) => RuleError::PeerLogin {
                target: target.to_string(),
                cause: e.to_string(),
            }
            .into(),
            SshError::Remote(message) => RuleError::RemoteRefusal {
                ip: ip.to_string(),
                message,
            }
            .into(),
            e => HostError::from(e).into(),
        }
    }

    /// `mkauthkeys -g`: this host's public key.
    pub fn host_public_key(&self) -> Result<String, ServiceError> {
        self.ssh_identity()?
            .public_key()
            .map_err(|e| HostError::from(e).into())
    }

    /// `mkauthkeys --ip HOST -u USER [--test]`: gives this host's key to USER on HOST (logging
    /// in once with the password), or checks that it works.
    pub fn trust(&self, actor: &Actor, req: &TrustRequest) -> Result<(), ServiceError> {
        let peer = Self::peer(&req.ip, &req.user)?;
        let op = if req.test {
            "test trust with another host"
        } else {
            "set up trust with another host"
        };
        let target = format!("{}@{}", req.user, req.ip);
        let password = match (req.test, req.password.as_deref()) {
            (true, _) => "",
            (false, None) => {
                return Err(RuleError::Missing("the password of the user on the other host").into())
            }
            (false, Some(p)) => {
                ivm_rules::check_peer_password(p)?;
                p
            }
        };
        self.logged(actor, op, &target, || {
            let id = self.ssh_identity()?;
            if !req.test {
                let key = id.public_key().map_err(HostError::from)?;
                // The key is ivm's own ("ssh-ed25519 BASE64 ivm"): no quote or '$' in it.
                id.run_with_password(
                    &peer,
                    password,
                    &self.askpass()?,
                    &format!("mkauthkeys -a \"{key}\""),
                    REMOTE_TIMEOUT,
                )
                .map_err(|e| Self::login_failed(&target, &req.ip, e))?;
            }
            id.run(&peer, "lsivm", b"", REMOTE_TIMEOUT)
                .map_err(|e| Self::no_trust(&peer, &req.ip, e))?;
            Ok(((), target.clone()))
        })
    }
}
