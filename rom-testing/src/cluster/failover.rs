//! A cluster with replicas: which node serves a slot, killing a node, and
//! waiting until a replica has taken over (failover tests).

use super::{ClusterNode, RedisCluster};
use crate::process::{admin_connection, info_field};
use crate::{CLUSTER_TIMEOUT, TestingError};
use redis::RedisResult;
use std::time::{Duration, Instant};

impl RedisCluster {
    /// Makes node `masters + i` a replica of node `i`, retrying while the
    /// replica does not know its master yet (the handshake after `MEET`).
    pub(super) fn attach_replicas(
        &self,
        masters: usize,
        cons: &mut [redis::Connection],
        deadline: Instant,
    ) -> Result<(), TestingError> {
        let (master_cons, replica_cons) = cons.split_at_mut(masters);
        for (i, con) in replica_cons.iter_mut().enumerate() {
            let master_id: String = redis::cmd("CLUSTER")
                .arg("MYID")
                .query(&mut master_cons[i])?;
            loop {
                let replicated: RedisResult<()> = redis::cmd("CLUSTER")
                    .arg("REPLICATE")
                    .arg(&master_id)
                    .exec(con);
                match replicated {
                    Ok(()) => break,
                    Err(err) if Instant::now() >= deadline => {
                        return Err(TestingError::StartFailed {
                            what: format!(
                                "127.0.0.1:{} could not replicate 127.0.0.1:{} within \
                                 {CLUSTER_TIMEOUT:?}: {err}",
                                self.nodes[masters + i].port,
                                self.nodes[i].port
                            ),
                            log_tail: self.log_tails(),
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        }
        Ok(())
    }

    /// The node that serves `slot` and the nodes that replicate it, as client
    /// ports `(master, replicas)`, as a live node of the cluster sees them
    /// (`CLUSTER NODES`). Right after [`kill_node`](Self::kill_node), this
    /// is still the dead master until the failover is done.
    ///
    /// # Errors
    ///
    /// [`TestingError::Redis`] if no live node answers,
    /// [`TestingError::StartFailed`] if no master serves the slot.
    pub fn slot_nodes(&self, slot: u16) -> Result<(u16, Vec<u16>), TestingError> {
        let mut last_err = None;
        for node in self
            .nodes
            .iter()
            .filter(|node| node.process.exited().is_none())
        {
            let text = match admin_connection(&node.admin).and_then(|mut con| {
                Ok(redis::cmd("CLUSTER")
                    .arg("NODES")
                    .query::<String>(&mut con)?)
            }) {
                Ok(text) => text,
                Err(err) => {
                    last_err = Some(err);
                    continue;
                }
            };
            let entries = parse_cluster_nodes(&text);
            let Some(master) = entries
                .iter()
                .find(|entry| entry.has_flag("master") && entry.serves(slot))
            else {
                return Err(TestingError::StartFailed {
                    what: format!(
                        "127.0.0.1:{} knows no master of slot {slot}:\n{text}",
                        node.port
                    ),
                    log_tail: String::new(),
                });
            };
            let replicas = entries
                .iter()
                .filter(|entry| entry.has_flag("slave") && entry.master == master.id)
                .map(|entry| entry.port)
                .collect();
            return Ok((master.port, replicas));
        }
        Err(last_err.unwrap_or_else(|| TestingError::StartFailed {
            what: "no node of the cluster is alive".to_owned(),
            log_tail: String::new(),
        }))
    }

    /// Kills the node listening on `port` with `SIGKILL` (a crash: no
    /// shutdown, no last write) and waits until the process is gone. Only a
    /// node this value started can be killed; its directory stays until the
    /// cluster is dropped. Killing a node twice is not an error.
    ///
    /// # Errors
    ///
    /// [`TestingError::StartFailed`] if `port` is not a node of this cluster
    /// or the process could not be confirmed stopped.
    pub fn kill_node(&mut self, port: u16) -> Result<(), TestingError> {
        let Some(node) = self.nodes.iter_mut().find(|node| node.port == port) else {
            return Err(TestingError::StartFailed {
                what: format!("127.0.0.1:{port} is not a node of this cluster"),
                log_tail: String::new(),
            });
        };
        node.process.stop()
    }

    /// Waits (up to about 20 s) until `slot` is served by a live master other
    /// than `old_master` (a client port), as every live node sees it, and
    /// every live node reports `cluster_state:ok`. Returns the new master's
    /// client port.
    ///
    /// # Errors
    ///
    /// [`TestingError::StartFailed`] (with the node logs) if that does not
    /// happen in time, [`TestingError::Redis`]/[`TestingError::Io`] for
    /// other failures.
    pub fn wait_for_failover(&self, slot: u16, old_master: u16) -> Result<u16, TestingError> {
        let deadline = Instant::now() + CLUSTER_TIMEOUT;
        let live: Vec<&ClusterNode> = self
            .nodes
            .iter()
            .filter(|node| node.process.exited().is_none())
            .collect();
        loop {
            let state = self.failover_state(&live, slot, old_master);
            let state = match state {
                Ok(Ok(port)) => return Ok(port),
                Ok(Err(state)) => state,
                Err(err) => err.to_string(),
            };
            if Instant::now() >= deadline {
                return Err(TestingError::StartFailed {
                    what: format!(
                        "slot {slot} was not taken over from 127.0.0.1:{old_master} within \
                         {CLUSTER_TIMEOUT:?}; last seen: {state}"
                    ),
                    log_tail: self.log_tails(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// One look for [`wait_for_failover`](Self::wait_for_failover):
    /// `Ok(Ok(port))` when done, `Ok(Err(state))` when not yet.
    fn failover_state(
        &self,
        live: &[&ClusterNode],
        slot: u16,
        old_master: u16,
    ) -> Result<Result<u16, String>, TestingError> {
        let mut seen = None;
        for node in live {
            let mut con = admin_connection(&node.admin)?;
            let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut con)?;
            let state = info_field(&info, "cluster_state").unwrap_or("?");
            if state != "ok" {
                return Ok(Err(format!(
                    "127.0.0.1:{}: cluster_state={state}",
                    node.port
                )));
            }
            let text: String = redis::cmd("CLUSTER").arg("NODES").query(&mut con)?;
            let owner = parse_cluster_nodes(&text)
                .into_iter()
                .find(|entry| {
                    entry.has_flag("master")
                        && !entry.has_flag("fail")
                        && !entry.has_flag("fail?")
                        && entry.serves(slot)
                })
                .map(|entry| entry.port);
            match owner {
                Some(port)
                    if port != old_master
                        && live.iter().any(|n| n.port == port)
                        && seen.is_none_or(|s| s == port) =>
                {
                    seen = Some(port);
                }
                other => {
                    return Ok(Err(format!(
                        "127.0.0.1:{} sees slot {slot} served by {other:?}",
                        node.port
                    )));
                }
            }
        }
        Ok(seen.ok_or_else(|| "no live node".to_owned()))
    }
}

/// One line of `CLUSTER NODES`.
#[derive(Debug)]
pub(super) struct NodeEntry {
    id: String,
    port: u16,
    flags: Vec<String>,
    /// The master's id for a replica, `-` for a master.
    master: String,
    /// Served slot ranges, inclusive.
    slots: Vec<(u16, u16)>,
}

impl NodeEntry {
    pub(super) fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    fn serves(&self, slot: u16) -> bool {
        self.slots.iter().any(|&(a, b)| a <= slot && slot <= b)
    }
}

/// Parses `CLUSTER NODES`: `<id> <ip:port@cport[,hostname]> <flags> <master>
/// <ping-sent> <pong-recv> <config-epoch> <link-state> <slot>...`. Lines it
/// cannot read and slots being migrated (`[...]`) are left out.
pub(super) fn parse_cluster_nodes(text: &str) -> Vec<NodeEntry> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 8 {
                return None;
            }
            let addr = fields[1].split(['@', ',']).next()?;
            let port = addr.rsplit(':').next()?.parse().ok()?;
            let slots = fields[8..]
                .iter()
                .filter(|s| !s.starts_with('['))
                .filter_map(|s| match s.split_once('-') {
                    Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                    None => s.parse().ok().map(|a| (a, a)),
                })
                .collect();
            Some(NodeEntry {
                id: fields[0].to_owned(),
                port,
                flags: fields[2].split(',').map(str::to_owned).collect(),
                master: fields[3].to_owned(),
                slots,
            })
        })
        .collect()
}

/// The `cluster-node-timeout` (milliseconds) of [`RedisCluster::start`].
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_nodes_lines_are_parsed() {
        let text = "\
a1 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460 [5461->-b2]
b2 127.0.0.1:30002@40002,host master,fail - 0 0 2 connected
c3 127.0.0.1:30003@40003 slave a1 0 0 1 connected
d4 127.0.0.1:30004@40004 master - 0 0 3 connected 5461 5462-16383
";
        let entries = parse_cluster_nodes(text);
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[0].port, 30001);
        assert!(entries[0].has_flag("master") && entries[0].has_flag("myself"));
        assert!(entries[0].serves(0) && entries[0].serves(5460) && !entries[0].serves(5461));
        assert!(entries[1].has_flag("fail") && entries[1].slots.is_empty());
        assert_eq!(entries[1].port, 30002);
        assert!(entries[2].has_flag("slave"));
        assert_eq!(entries[2].master, entries[0].id);
        assert!(entries[3].serves(5461) && entries[3].serves(16383));
    }
}
