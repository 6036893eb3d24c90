//! The open-file limit: every connection is a file descriptor, and the soft limit a process
//! starts with is often 1024 (systemd, many container runtimes), below `[server]
//! max_connections` plus `[limits] ws_connections` (a WebSocket leaves the server's count once
//! upgraded, so the two add up). The hard limit is what the operator allows; the gateway
//! raises its soft limit to it at start, so that the defaults are reachable wherever the hard
//! limit is high enough, and warns when it is not.

/// Descriptors the gateway holds besides its connections: the listener, the runtime's
/// epoll and wake-ups, the embedded DataSpace's SQLite files per connection, stdio.
pub const FDS_BESIDES_CONNECTIONS: u64 = 64;

/// The soft limit before and after raising it to the hard limit; `None` where there is no
/// such limit to read (not Linux with glibc) or reading it failed.
pub fn raise_to_hard() -> Option<(u64, u64)> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return None;
            }
            let before = limit.rlim_cur;
            if before < limit.rlim_max {
                limit.rlim_cur = limit.rlim_max;
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Some((before, before));
                }
            }
            Some((before, limit.rlim_cur))
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

/// Raises the soft limit and logs what came of it: a warning when `connections` (HTTP and
/// WebSocket together) cannot all be open at once.
pub fn raise_and_report(connections: usize) {
    let Some((before, after)) = raise_to_hard() else {
        return;
    };
    if after != before {
        tracing::info!(before, after, "open-file limit raised to the hard limit");
    }
    let needed = connections as u64 + FDS_BESIDES_CONNECTIONS;
    if after < needed {
        tracing::warn!(
            limit = after,
            needed,
            "the open-file limit is below [server] max_connections plus [limits] \
             ws_connections plus the gateway's own files: connections past it fail to open; \
             raise the hard limit (ulimit -Hn, docker --ulimit nofile, systemd LimitNOFILE) \
             or lower those settings"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn limit() -> libc::rlimit {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct passed.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        limit
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn a_lowered_soft_limit_goes_back_up_to_the_hard_one() {
        let hard = limit().rlim_max;
        // Lowered as a container runtime might start us, though not so low that the tests
        // running beside this one run out.
        let lowered = libc::rlimit {
            rlim_cur: hard.min(1024),
            rlim_max: hard,
        };
        // SAFETY: setrlimit only reads the struct passed; lowering a soft limit is allowed.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lowered) }, 0);
        assert_eq!(raise_to_hard(), Some((hard.min(1024), hard)));
        assert_eq!(limit().rlim_cur, hard);
    }
}
