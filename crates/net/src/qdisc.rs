//! A link's root queueing discipline, through rtnetlink (as `tc qdisc replace dev NAME root
//! noqueue` would). A partition's tap gets none: the tap has its own queue towards QEMU, and
//! the default pfifo_fast in front of it costs a lock and a requeue per frame the bridge sends
//! the guest (libvirt gives its taps `noqueue` for the same reason).

use futures_util::TryStreamExt;
use rtnetlink::packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST,
};
use rtnetlink::packet_route::tc::{TcAttribute, TcHandle, TcMessage};
use rtnetlink::packet_route::RouteNetlinkMessage;

use crate::links::{all, index_of, nl, with_handle};
use crate::NetError;

/// Gives link `name` the `noqueue` root discipline.
pub fn set_noqueue(name: &str) -> Result<(), NetError> {
    with_handle(async |mut h| {
        let index = index_of(&all(&h).await?, name)?;
        let mut msg = TcMessage::with_index(index as i32);
        msg.header.parent = TcHandle::ROOT;
        msg.attributes.push(TcAttribute::Kind("noqueue".into()));
        let mut req = NetlinkMessage::from(RouteNetlinkMessage::NewQueueDiscipline(msg));
        req.header.flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
        let mut answers = h.request(req).map_err(nl("set the queue of", name))?;
        while let Some(m) = futures_util::StreamExt::next(&mut answers).await {
            if let NetlinkPayload::Error(e) = m.payload {
                if e.code.is_some() {
                    return Err(NetError::Netlink {
                        action: "set the queue of",
                        name: name.to_string(),
                        message: e.to_io().to_string(),
                    });
                }
            }
        }
        Ok(())
    })
}

/// The kind of link `name`'s root discipline (`noqueue`, `pfifo_fast`, ...), if it has one.
pub fn root_kind(name: &str) -> Result<Option<String>, NetError> {
    with_handle(async |h| {
        let index = index_of(&all(&h).await?, name)?;
        let mut s = h.qdisc().get().index(index as i32).execute();
        while let Some(m) = s.try_next().await.map_err(nl("read the queue of", name))? {
            if m.header.index == index as i32 && m.header.parent == TcHandle::ROOT {
                return Ok(m.attributes.iter().find_map(|a| match a {
                    TcAttribute::Kind(k) => Some(k.clone()),
                    _ => None,
                }));
            }
        }
        Ok(None)
    })
}
