//! The firewall end to end over real sockets: an ESME (the crate's codec), the firewall and
//! the SMSC simulator.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chanrac_core::{Action, Engine, Message};
use chanrac_smpp::concat::{PartInfo, udh_for};
use chanrac_smpp::pdu::{Address, Body, Header, Pdu, cmd, status};
use chanrac_smpp::proxy::{Account, Decision, Filter, SubmitContext};
use chanrac_smpp::receipt::receipted_id;
use chanrac_smpp::sim::{SimConfig, Smsc};
use chanrac_smpp::submit::{ESM_DELIVERY_RECEIPT, ESM_UDHI};
use chanrac_smpp::text::ucs2_encode;
use common::{Esme, setup, sm, wait_for};

/// Decides by a word in the text, so each test states what it sends.
fn keyword_filter() -> Arc<dyn Filter> {
    Arc::new(|_: &SubmitContext<'_>, m: &Message| {
        if m.text.contains("SCAM") {
            Decision::Reject(status::ESME_RSUBMITFAIL)
        } else if m.text.contains("DROPME") {
            Decision::Drop
        } else if m.text.contains("HOLDME") {
            Decision::Quarantine
        } else if m.text.contains("TAGME") {
            Decision::Tag
        } else {
            Decision::Forward
        }
    })
}

/// The engine with its built-in rules, block → reject.
struct EngineFilter(Engine);

impl Filter for EngineFilter {
    fn check(&self, _: &SubmitContext<'_>, m: &Message) -> Decision {
        match self.0.check(m).action {
            Action::Block => Decision::Reject(status::ESME_RSUBMITFAIL),
            Action::Quarantine => Decision::Quarantine,
            Action::Tag => Decision::Tag,
            Action::Allow => Decision::Forward,
        }
    }
}

fn message_id(p: &Pdu) -> String {
    match &p.body {
        Body::SubmitSmResp(r) => String::from_utf8_lossy(&r.message_id).into_owned(),
        other => panic!("not a submit_sm_resp: {other:?}"),
    }
}

#[tokio::test]
async fn forwards_allowed_and_rejects_blocked() {
    let s = setup(false, keyword_filter(), |_| {}).await;
    let (mut e, st) = Esme::bind(s.fw.local_addr(), cmd::BIND_TRANSMITTER, "shop", "any").await;
    assert_eq!(st, 0);
    let ok = e.submit(sm("84900000001", "84912345678", "Don hang 123 da giao")).await;
    let bad = e.submit(sm("84900000001", "84912345678", "SCAM nhan thuong")).await;
    let vi = e.submit(sm("VCB", "84912345678", "Mã OTP của bạn là 123456")).await;
    let mut got = std::collections::HashMap::new();
    for _ in 0..3 {
        let p = e.next_app().await.unwrap();
        got.insert(p.sequence, p);
    }
    assert_eq!(got[&ok].status, 0);
    assert_eq!(got[&vi].status, 0);
    assert_eq!(got[&bad].status, status::ESME_RSUBMITFAIL);
    // The ESME got the SMSC's own message ids, and the SMSC got the allowed texts only.
    let received = s.sim.received();
    let texts: Vec<&str> = received.iter().map(|a| a.text.as_str()).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts.contains(&"Mã OTP của bạn là 123456"));
    let ids: Vec<String> = received.iter().map(|a| a.message_id.clone()).collect();
    assert!(ids.contains(&message_id(&got[&ok])));
    let snap = s.fw.stats().snapshot();
    assert_eq!((snap.forwarded, snap.rejected), (2, 1));
}

#[tokio::test]
async fn a_scam_in_three_parts_is_judged_whole() {
    let engine = Engine::with_defaults().unwrap();
    let parts = [
        "Chúc mừng thuê bao 0912xxx trú",
        "ng thưởng 50tr từ chương trình tri ân khách hàng. Nhận thưởng tại https://vtb-q",
        "ua.xyz trước 24h, phí nhận 200k",
    ];
    // Each part alone passes; the whole is blocked.
    for p in parts {
        assert_eq!(
            engine.check(&Message::text(p).from("0912345678")).action,
            Action::Allow,
            "{p}"
        );
    }
    assert_eq!(
        engine.check(&Message::text(parts.concat()).from("0912345678")).action,
        Action::Block
    );
    let s = setup(false, Arc::new(EngineFilter(engine)), |_| {}).await;
    let (mut e, _) = Esme::bind(s.fw.local_addr(), cmd::BIND_TRANSCEIVER, "agg", "x").await;
    let send = |reference: u16, texts: [&'static str; 3]| {
        texts.into_iter().enumerate().map(move |(i, t)| {
            let mut udh = udh_for(PartInfo {
                reference,
                total: 3,
                seq: i as u8 + 1,
            });
            udh.extend(ucs2_encode(t));
            let mut m = sm("0912345678", "84987654321", "");
            m.esm_class = ESM_UDHI;
            m.data_coding = 8;
            m.short_message = Bytes::from(udh);
            m
        })
    };
    // Parts sent out of order, with a benign message's parts interleaved.
    let scam: Vec<_> = send(0x1234, parts).collect();
    let benign: Vec<_> = send(7, ["Mai 7h ", "đi đá bóng ", "nhé"]).collect();
    let order = [&scam[2], &benign[0], &scam[0], &benign[1], &benign[2], &scam[1]];
    let mut seqs = Vec::new();
    for m in order {
        seqs.push(e.submit(m.clone()).await);
    }
    let mut statuses = std::collections::HashMap::new();
    for _ in 0..6 {
        let p = e.next_app().await.unwrap();
        statuses.insert(p.sequence, p.status);
    }
    for i in [0, 2, 5] {
        assert_eq!(statuses[&seqs[i]], status::ESME_RSUBMITFAIL, "scam part {i}");
    }
    for i in [1, 3, 4] {
        assert_eq!(statuses[&seqs[i]], 0, "benign part {i}");
    }
    let texts: Vec<String> = s.sim.received().into_iter().map(|a| a.text).collect();
    assert_eq!(texts, ["Mai 7h ", "đi đá bóng ", "nhé"]);
}

#[tokio::test]
async fn an_incomplete_message_is_judged_after_the_timeout() {
    let s = setup(false, keyword_filter(), |c| c.reassembly.max_age_ms = 300).await;
    let (mut e, _) = Esme::bind(s.fw.local_addr(), cmd::BIND_TRANSMITTER, "a", "b").await;
    let mut m = sm("1", "2", "");
    m.esm_class = ESM_UDHI;
    let mut body = udh_for(PartInfo {
        reference: 1,
        total: 2,
        seq: 1,
    });
    body.extend(b"hello part one");
    m.short_message = Bytes::from(body);
    let seq = e.submit(m).await;
    let p = e.next_app().await.unwrap();
    assert_eq!((p.sequence, p.status), (seq, 0));
    assert_eq!(s.sim.received()[0].text, "hello part one");
}

#[tokio::test]
async fn receipts_come_back_to_the_right_esme() {
    let s = setup(true, keyword_filter(), |_| {}).await;
    let (mut a, _) = Esme::bind(s.fw.local_addr(), cmd::BIND_TRANSCEIVER, "alpha", "x").await;
    let (mut b, _) = Esme::bind(s.fw.local_addr(), cmd::BIND_TRANSCEIVER, "beta", "x").await;
    for (e, text) in [(&mut a, "from alpha"), (&mut b, "from beta")] {
        let mut m = sm("84900000001", "84912345678", text);
        m.registered_delivery = 1;
        e.submit(m).await;
    }
    for e in [&mut a, &mut b] {
        let mut id = None;
        let mut receipt = None;
        while id.is_none() || receipt.is_none() {
            let p = e.next_app().await.unwrap();
            match &p.body {
                Body::SubmitSmResp(_) => id = Some(message_id(&p)),
                Body::DeliverSm(r) => {
                    assert_eq!(r.esm_class & ESM_DELIVERY_RECEIPT, ESM_DELIVERY_RECEIPT);
                    receipt = Some(String::from_utf8_lossy(&receipted_id(r).unwrap()).into_owned());
                    e.send_raw(&Pdu::new(p.sequence, Body::DeliverSmResp(Default::default())).encode())
                        .await;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(id, receipt, "each ESME gets the receipt of its own message");
    }
    wait_for(|| s.fw.stats().snapshot().delivered == 2).await;
}

#[tokio::test]
async fn drop_answers_ok_with_an_undeliverable_receipt_and_quarantine_holds() {
    let s = setup(false, keyword_filter(), |_| {}).await;
    let (mut e, _) = Esme::bind(s.fw.local_addr(), cmd::BIND_TRANSCEIVER, "a", "b").await;
    let mut m = sm("1", "2", "DROPME please");
    m.registered_delivery = 1;
    e.submit(m).await;
    let r = e.next_app().await.unwrap();
    assert_eq!(r.status, 0);
    let id = message_id(&r);
    let d = e.next_app().await.unwrap();
    let Body::DeliverSm(receipt) = &d.body else {
        panic!("expected a receipt, got {d:?}")
    };
    assert_eq!(receipted_id(receipt).unwrap(), id.as_bytes());
    assert!(String::from_utf8_lossy(&receipt.short_message).contains("stat:UNDELIV"));

    e.submit(sm("1", "2", "HOLDME maybe")).await;
    let r = e.next_app().await.unwrap();
    assert_eq!(r.status, 0);
    let q = s.fw.quarantine();
    let held = q.list();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].text, "HOLDME maybe");
    assert!(s.sim.received().is_empty(), "nothing forwarded before release");
    assert!(q.release(&held[0].id));
    wait_for(|| s.sim.received().len() == 1).await;
    assert!(!q.release(&held[0].id), "released once");
    let snap = s.fw.stats().snapshot();
    assert_eq!((snap.dropped, snap.quarantined), (1, 1));
}

#[tokio::test]
async fn bad_input_gets_nacks_and_others_keep_working() {
    let s = setup(false, keyword_filter(), |_| {}).await;
    let (mut bad, _) = Esme::bind(s.fw.local_addr(), cmd::BIND_TRANSMITTER, "bad", "x").await;
    let (mut good, _) = Esme::bind(s.fw.local_addr(), cmd::BIND_TRANSMITTER, "good", "x").await;
    // An unknown command id: generic_nack, and the session goes on.
    bad.send_raw(&[0, 0, 0, 16, 0, 0, 0x77, 0x77, 0, 0, 0, 0, 0, 0, 0, 9])
        .await;
    let n = bad.next().await.unwrap();
    assert_eq!(
        (n.body.clone(), n.status, n.sequence),
        (Body::GenericNack, status::ESME_RINVCMDID, 9)
    );
    // A garbled submit_sm (no NUL anywhere): generic_nack, session goes on.
    bad.send_raw(&[0, 0, 0, 20, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 10, 1, 2, 3, 4])
        .await;
    let n = bad.next().await.unwrap();
    assert_eq!((n.status, n.sequence), (status::ESME_RINVMSGLEN, 10));
    bad.send(Body::EnquireLink).await;
    assert_eq!(bad.next().await.unwrap().body, Body::EnquireLinkResp);
    // A 1 GiB command_length: generic_nack and the connection is closed.
    bad.send_raw(&[0x40, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 11])
        .await;
    let n = bad.next().await.unwrap();
    assert_eq!((n.status, n.sequence), (status::ESME_RINVCMDLEN, 11));
    assert!(bad.next().await.is_none(), "closed after a bad length");
    // The other ESME never noticed.
    let seq = good.submit(sm("1", "2", "still fine")).await;
    let r = good.next_app().await.unwrap();
    assert_eq!((r.sequence, r.status), (seq, 0));
}

#[tokio::test]
async fn accounts_passwords_and_throughput_limits() {
    let s = setup(false, keyword_filter(), |c| {
        c.dev_mode = false;
        c.accounts = vec![
            Account {
                system_id: "bank".into(),
                password: "s3cret".into(),
                max_tps: None,
            },
            Account {
                system_id: "slow".into(),
                password: "pw".into(),
                max_tps: Some(5),
            },
        ];
    })
    .await;
    let addr = s.fw.local_addr();
    assert_eq!(
        Esme::bind(addr, cmd::BIND_TRANSMITTER, "bank", "wrong").await.1,
        status::ESME_RINVPASWD
    );
    assert_eq!(
        Esme::bind(addr, cmd::BIND_TRANSMITTER, "nobody", "x").await.1,
        status::ESME_RINVSYSID
    );
    let (mut bank, st) = Esme::bind(addr, cmd::BIND_TRANSMITTER, "bank", "s3cret").await;
    assert_eq!(st, 0);
    // Bound twice on one connection: refused.
    bank.send(Body::BindTransmitter(Default::default())).await;
    assert_eq!(bank.next().await.unwrap().status, status::ESME_RALYBND);
    let (mut slow, _) = Esme::bind(addr, cmd::BIND_TRANSMITTER, "slow", "pw").await;
    for _ in 0..20 {
        slow.submit(sm("1", "2", "hello")).await;
    }
    let mut throttled = 0;
    for _ in 0..20 {
        if slow.next_app().await.unwrap().status == status::ESME_RTHROTTLED {
            throttled += 1;
        }
    }
    assert!(
        (14..=16).contains(&throttled),
        "5 per second allowed, {throttled} throttled"
    );
    // A receiver may not submit.
    let (mut rx, _) = Esme::bind(addr, cmd::BIND_RECEIVER, "bank", "s3cret").await;
    rx.submit(sm("1", "2", "hello")).await;
    assert_eq!(rx.next_app().await.unwrap().status, status::ESME_RINVBNDSTS);
    // Before binding, submitting is refused too.
    let mut unbound = Esme::connect(addr).await;
    unbound.submit(sm("1", "2", "hello")).await;
    assert_eq!(unbound.next().await.unwrap().status, status::ESME_RINVBNDSTS);
}

async fn sim_on(addr: std::net::SocketAddr) -> Smsc {
    let cfg = SimConfig {
        listen: addr.to_string(),
        receipts: false,
        keep: 10,
    };
    Smsc::start(cfg).await.unwrap()
}

#[tokio::test]
async fn throttled_while_upstream_is_down_then_reconnects() {
    // Take a free port for an SMSC that is not there yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let fw = chanrac_smpp::Firewall::start(common::config(port), keyword_filter())
        .await
        .unwrap();
    let (mut e, _) = Esme::bind(fw.local_addr(), cmd::BIND_TRANSMITTER, "a", "b").await;
    e.submit(sm("1", "2", "hello")).await;
    assert_eq!(e.next_app().await.unwrap().status, status::ESME_RTHROTTLED);
    let sim = sim_on(port).await;
    wait_for(|| fw.upstream_bound() == 2).await;
    e.submit(sm("1", "2", "hello again")).await;
    assert_eq!(e.next_app().await.unwrap().status, 0);
    assert_eq!(sim.received()[0].text, "hello again");
    // The SMSC goes away: in-flight work fails cleanly, and the binds come back with it.
    drop(sim);
    wait_for(|| fw.upstream_bound() == 0).await;
    let sim = sim_on(port).await;
    wait_for(|| fw.upstream_bound() == 2).await;
    e.submit(sm("1", "2", "after restart")).await;
    assert_eq!(e.next_app().await.unwrap().status, 0);
    assert_eq!(sim.received()[0].text, "after restart");
    assert!(fw.stats().snapshot().upstream_binds >= 4);
}

#[tokio::test]
async fn window_full_is_throttled() {
    // An SMSC that accepts the bind and then never answers: requests stay outstanding.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (r, mut w) = s.into_split();
                let mut r = chanrac_smpp::frame::FrameReader::new(r, 65536);
                while let Ok(Some(f)) = r.read().await {
                    let h = Header::parse(&f).unwrap();
                    if h.command_id == cmd::BIND_TRANSCEIVER {
                        let resp = Pdu::new(h.sequence_number, Body::BindTransceiverResp(Default::default()));
                        tokio::io::AsyncWriteExt::write_all(&mut w, &resp.encode())
                            .await
                            .unwrap();
                    }
                }
            });
        }
    });
    let mut cfg = common::config(addr);
    cfg.upstream.window = 3;
    cfg.upstream.binds = 1;
    cfg.upstream.response_timeout_secs = 1;
    let fw = chanrac_smpp::Firewall::start(cfg, keyword_filter()).await.unwrap();
    wait_for(|| fw.upstream_bound() == 1).await;
    let (mut e, _) = Esme::bind(fw.local_addr(), cmd::BIND_TRANSMITTER, "a", "b").await;
    for _ in 0..5 {
        e.submit(sm("1", "2", "hello")).await;
    }
    // Two over the upstream window are throttled at once; the three in flight time out.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(e.next_app().await.unwrap().status);
    }
    assert_eq!(statuses[..2], [status::ESME_RTHROTTLED; 2]);
    assert_eq!(statuses[2..], [status::ESME_RSYSERR; 3]);
}

#[tokio::test]
async fn shutdown_unbinds_the_esmes() {
    let s = setup(false, keyword_filter(), |_| {}).await;
    let (mut e, _) = Esme::bind(s.fw.local_addr(), cmd::BIND_TRANSCEIVER, "a", "b").await;
    wait_for(|| s.fw.sessions() == 1).await;
    let stop = tokio::spawn(s.fw.shutdown());
    let p = e.next_app().await.unwrap();
    assert_eq!(p.body, Body::Unbind);
    e.send_raw(&Pdu::new(p.sequence, Body::UnbindResp).encode()).await;
    assert!(e.next().await.is_none());
    tokio::time::timeout(Duration::from_secs(5), stop)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn data_sm_and_query_sm_pass_through() {
    let s = setup(false, keyword_filter(), |_| {}).await;
    let (mut e, _) = Esme::bind(s.fw.local_addr(), cmd::BIND_TRANSCEIVER, "a", "b").await;
    let d = chanrac_smpp::pdu::DataSm {
        source: Address::new(1, 1, "1"),
        dest: Address::new(1, 1, "2"),
        data_coding: 8,
        tlvs: vec![chanrac_smpp::pdu::Tlv::new(
            chanrac_smpp::pdu::tag::MESSAGE_PAYLOAD,
            ucs2_encode("SCAM trong data_sm"),
        )],
        ..Default::default()
    };
    e.send(Body::DataSm(d)).await;
    let r = e.next_app().await.unwrap();
    assert_eq!(
        (r.command_id(), r.status),
        (cmd::DATA_SM_RESP, status::ESME_RSUBMITFAIL)
    );
    e.send(Body::QuerySm(chanrac_smpp::pdu::QuerySm {
        message_id: Bytes::from_static(b"00000001"),
        source: Address::new(1, 1, "1"),
    }))
    .await;
    let r = e.next_app().await.unwrap();
    assert_eq!((r.command_id(), r.status), (cmd::QUERY_SM_RESP, 0));
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    smpp: chanrac_smpp::FirewallConfig,
}

#[test]
fn the_example_config_parses_and_typos_are_errors() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/smpp.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let cfg: ConfigFile = toml::from_str(&text).unwrap();
    assert_eq!(cfg.smpp.accounts.len(), 2);
    assert_eq!(cfg.smpp.accounts[1].max_tps, Some(200));
    assert_eq!(cfg.smpp.reject_status, status::ESME_RSUBMITFAIL);
    assert_eq!(
        cfg.smpp.upstream.reconnect_max_ms, 10_000,
        "unset keys keep their defaults"
    );
    let typo = text.replace("max_age_ms", "max_agee_ms");
    let err = toml::from_str::<ConfigFile>(&typo)
        .err()
        .expect("an unknown key is an error");
    assert!(err.to_string().contains("max_agee_ms"), "{err}");
}

#[tokio::test]
async fn a_bind_flood_is_bounded() {
    let s = setup(false, keyword_filter(), |c| {
        c.dev_mode = false;
        c.accounts = vec![Account {
            system_id: "ok".into(),
            password: "pw".into(),
            max_tps: None,
        }];
        c.max_connections = 4;
        c.max_bind_attempts = 2;
        c.bind_timeout_secs = 1;
    })
    .await;
    let addr = s.fw.local_addr();
    // Wrong passwords: the connection is closed after the second attempt.
    let (mut e, st) = Esme::bind(addr, cmd::BIND_TRANSMITTER, "ok", "bad").await;
    assert_eq!(st, status::ESME_RINVPASWD);
    e.send(Body::BindTransmitter(Default::default())).await;
    assert_eq!(e.next().await.unwrap().status, status::ESME_RINVSYSID);
    assert!(e.next().await.is_none(), "closed after max_bind_attempts");
    // Connections that never bind are closed after bind_timeout_secs.
    let mut idle = Esme::connect(addr).await;
    assert!(idle.next().await.is_none(), "closed for not binding");
    // Past max_connections, newcomers are closed at once; the bound one is not affected.
    let (mut good, st) = Esme::bind(addr, cmd::BIND_TRANSMITTER, "ok", "pw").await;
    assert_eq!(st, 0);
    let mut flood = Vec::new();
    for _ in 0..3 {
        flood.push(Esme::connect(addr).await);
    }
    wait_for(|| s.fw.stats().snapshot().connections >= 6).await;
    let mut extra = Esme::connect(addr).await;
    assert!(extra.next().await.is_none(), "a fifth connection is refused");
    let seq = good.submit(sm("1", "2", "still served")).await;
    let r = good.next_app().await.unwrap();
    assert_eq!((r.sequence, r.status), (seq, 0));
}

#[tokio::test]
async fn enquire_link_both_ways_and_idle_esmes_are_dropped() {
    let s = setup(false, keyword_filter(), |c| {
        c.enquire_link_secs = 1;
        c.idle_timeout_secs = 3;
        c.upstream.enquire_link_secs = 1;
    })
    .await;
    let (mut e, _) = Esme::bind(s.fw.local_addr(), cmd::BIND_TRANSCEIVER, "a", "b").await;
    // The ESME's enquire_link is answered.
    let seq = e.send(Body::EnquireLink).await;
    let r = e.next().await.unwrap();
    assert_eq!((r.body, r.sequence), (Body::EnquireLinkResp, seq));
    // After a second of silence the firewall asks; an answer keeps the session.
    let q = e.next().await.unwrap();
    assert_eq!(q.body, Body::EnquireLink);
    e.send_raw(&Pdu::new(q.sequence, Body::EnquireLinkResp).encode()).await;
    // Then silence: another enquire_link, unanswered, and the session is closed.
    assert_eq!(e.next().await.unwrap().body, Body::EnquireLink);
    assert!(
        e.next().await.is_none(),
        "an ESME silent past idle_timeout_secs is dropped"
    );
    // Upstream, the firewall's binds ask the SMSC too when it is silent.
    assert!(
        s.sim.enquire_links() >= 2,
        "enquire_link to the SMSC: {}",
        s.sim.enquire_links()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_esme_that_does_not_read_is_disconnected_and_others_are_served() {
    let s = setup(false, keyword_filter(), |_| {}).await;
    let (mut good, _) = Esme::bind(s.fw.local_addr(), cmd::BIND_TRANSMITTER, "good", "x").await;
    let (bad, _) = Esme::bind(s.fw.local_addr(), cmd::BIND_TRANSMITTER, "bad", "x").await;
    wait_for(|| s.fw.sessions() == 2).await;
    // The bad ESME sends enquire_links and never reads the answers: once the socket buffers
    // and its queue are full, the firewall drops it instead of waiting for it.
    let flood = tokio::spawn(async move {
        let Esme { mut writer, reader, .. } = bad;
        let chunk: Vec<u8> = (0..4096u32)
            .flat_map(|i| Pdu::new(i + 2, Body::EnquireLink).encode().to_vec())
            .collect();
        let mut sent = 0usize;
        while sent < 256 << 20 {
            if tokio::io::AsyncWriteExt::write_all(&mut writer, &chunk).await.is_err() {
                break;
            }
            sent += chunk.len();
        }
        drop(reader);
        sent
    });
    for i in 0..20 {
        let seq = good.submit(sm("1", "2", &format!("message {i}"))).await;
        let r = good.next_app().await.unwrap();
        assert_eq!((r.sequence, r.status), (seq, 0));
    }
    for _ in 0..3000 {
        if s.fw.sessions() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(s.fw.sessions(), 1, "the ESME that does not read was disconnected");
    let sent = tokio::time::timeout(Duration::from_secs(30), flood)
        .await
        .unwrap()
        .unwrap();
    assert!(
        sent < 256 << 20,
        "the flood's connection was closed ({sent} bytes sent)"
    );
    let seq = good.submit(sm("1", "2", "after the flood")).await;
    assert_eq!(good.next_app().await.unwrap().sequence, seq);
}

/// A message to a service of the node itself (the hub's short code) is acknowledged, not
/// forwarded, and answered to the sender from that address; a reply longer than one
/// `short_message` travels in `message_payload`; a transmitter-only session gets no reply.
#[tokio::test]
async fn local_answers_come_back_as_deliver_sm_and_nothing_is_forwarded() {
    let long = "x".repeat(300);
    let reply_to = long.clone();
    let filter: Arc<dyn Filter> =
        Arc::new(
            move |_: &SubmitContext<'_>, m: &Message| match (m.recipient.as_deref(), m.text.as_str()) {
                (Some("5656"), "LONG") => Decision::Local(reply_to.as_str().into()),
                (Some("5656"), _) => Decision::Local("Cam on, ma phan anh PA1".into()),
                _ => Decision::Forward,
            },
        );
    let s = setup(false, filter, |_| {}).await;
    let (mut e, _) = Esme::bind(s.fw.local_addr(), cmd::BIND_TRANSCEIVER, "a", "b").await;
    e.submit(sm("84900000001", "5656", "S 0912345678 vay tien")).await;
    let r = e.next_app().await.unwrap();
    assert_eq!((r.command_id(), r.status), (cmd::SUBMIT_SM_RESP, 0));
    let d = e.next_app().await.unwrap();
    let Body::DeliverSm(m) = &d.body else {
        panic!("expected the reply, got {d:?}")
    };
    assert_eq!(
        (&m.source.addr[..], &m.dest.addr[..]),
        (&b"5656"[..], &b"84900000001"[..])
    );
    assert_eq!(&m.short_message[..], b"Cam on, ma phan anh PA1");
    e.submit(sm("84900000001", "5656", "LONG")).await;
    e.next_app().await.unwrap();
    let d = e.next_app().await.unwrap();
    let Body::DeliverSm(m) = &d.body else {
        panic!("expected the reply, got {d:?}")
    };
    assert_eq!(m.payload().len(), 300);
    let (mut t, _) = Esme::bind(s.fw.local_addr(), cmd::BIND_TRANSMITTER, "t", "b").await;
    t.submit(sm("84900000002", "5656", "DK DNC")).await;
    assert_eq!(t.next_app().await.unwrap().status, 0);
    e.submit(sm("84900000001", "84912345678", "hello")).await;
    wait_for(|| s.sim.received().len() == 1).await;
    assert_eq!(s.fw.stats().snapshot().answered_locally, 3);
}

/// A service on the short code 5656 for MO messages from the SMSC: it "stores" each message
/// after a delay (the store's commit), or refuses texts with `FAIL` as a store that is down.
struct HubLine {
    stored: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Filter for HubLine {
    fn check(&self, _: &SubmitContext<'_>, _: &Message) -> Decision {
        Decision::Forward
    }

    fn serves(&self, dest: &str) -> bool {
        dest == "5656"
    }

    fn deliver_local(&self, m: &Message) -> chanrac_smpp::proxy::LocalAnswer {
        let (stored, from, text) = (
            self.stored.clone(),
            m.sender.clone().unwrap_or_default(),
            m.text.clone(),
        );
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            if text.contains("FAIL") {
                return Err(status::ESME_RX_T_APPN);
            }
            let mut s = stored.lock().unwrap();
            s.push(format!("{from}: {text}"));
            Ok(format!("Cam on, ma phan anh PA{}", s.len()).into())
        })
    }
}

/// The SMSC side of one upstream bind, written on the crate's codec: it accepts the
/// firewall's bind and then plays the SMSC delivering MO messages.
async fn smsc_peer(listener: &tokio::net::TcpListener) -> Esme {
    let (s, _) = listener.accept().await.unwrap();
    let (r, w) = s.into_split();
    let mut peer = Esme {
        reader: chanrac_smpp::frame::FrameReader::new(r, chanrac_smpp::frame::DEFAULT_MAX_PDU),
        writer: w,
        seq: 100,
    };
    let bind = peer.next_app().await.unwrap();
    assert_eq!(bind.command_id(), cmd::BIND_TRANSCEIVER);
    let resp = Pdu::new(
        bind.sequence,
        Body::BindTransceiverResp(chanrac_smpp::pdu::BindResp {
            system_id: Bytes::from_static(b"smsc"),
            tlvs: vec![],
        }),
    );
    peer.send_raw(&resp.encode()).await;
    peer
}

#[tokio::test]
async fn mo_from_the_smsc_to_a_served_code_is_answered_after_it_is_stored() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stored = Arc::new(std::sync::Mutex::new(Vec::new()));
    let filter = Arc::new(HubLine { stored: stored.clone() });
    let mut cfg = common::config(listener.local_addr().unwrap());
    cfg.upstream.binds = 1;
    let fw = chanrac_smpp::proxy::Firewall::start(cfg, filter).await.unwrap();
    let mut smsc = smsc_peer(&listener).await;
    wait_for(|| fw.upstream_bound() == 1).await;

    // A plain MO message: the deliver_sm_resp comes only once the service stored it, then
    // the reply goes to the subscriber as a submit_sm from the short code.
    let seq = smsc
        .send(Body::DeliverSm(sm(
            "84903123456",
            "5656",
            "S 0912345678 vay tien nhanh",
        )))
        .await;
    let r = smsc.next_app().await.unwrap();
    assert_eq!((r.command_id(), r.sequence, r.status), (cmd::DELIVER_SM_RESP, seq, 0));
    assert_eq!(stored.lock().unwrap().len(), 1, "acknowledged before it was stored");
    let reply = smsc.next_app().await.unwrap();
    let Body::SubmitSm(m) = &reply.body else {
        panic!("expected the reply, got {reply:?}")
    };
    assert_eq!(
        (&m.source.addr[..], &m.dest.addr[..]),
        (&b"5656"[..], &b"84903123456"[..])
    );
    assert_eq!(&m.short_message[..], b"Cam on, ma phan anh PA1");
    let ok = Pdu::new(
        reply.sequence,
        Body::SubmitSmResp(chanrac_smpp::pdu::MessageIdResp {
            message_id: Bytes::from_static(b"smsc-1"),
            tlvs: vec![],
        }),
    );
    smsc.send_raw(&ok.encode()).await;

    // A report in two UCS-2 parts (a forwarded long spam): joined, stored once, both parts
    // acknowledged after it.
    let text = "S 0912345678 Chúc mừng quý khách trúng thưởng 50 triệu, nhận tại https://vtb-qua.xyz ngay hôm nay";
    let bytes = ucs2_encode(text);
    let half = bytes.len() / 2 / 2 * 2;
    let mut seqs = Vec::new();
    for (i, chunk) in [&bytes[..half], &bytes[half..]].into_iter().enumerate() {
        let info = PartInfo {
            reference: 7,
            total: 2,
            seq: i as u8 + 1,
        };
        let mut body = udh_for(info);
        body.extend_from_slice(chunk);
        let mut part = sm("84903123457", "5656", "");
        part.esm_class = ESM_UDHI;
        part.data_coding = 0x08;
        part.short_message = Bytes::from(body);
        seqs.push(smsc.send(Body::DeliverSm(part)).await);
    }
    let mut acked = Vec::new();
    while acked.len() < 2 {
        let p = smsc.next_app().await.unwrap();
        assert_eq!((p.command_id(), p.status), (cmd::DELIVER_SM_RESP, 0), "{p:?}");
        acked.push(p.sequence);
    }
    acked.sort();
    assert_eq!(acked, seqs);
    assert_eq!(stored.lock().unwrap()[1], format!("84903123457: {text}"));
    let reply = smsc.next_app().await.unwrap();
    assert!(matches!(&reply.body, Body::SubmitSm(m) if &m.short_message[..] == b"Cam on, ma phan anh PA2"));
    smsc.send_raw(
        &Pdu::with_status(
            status::ESME_RSUBMITFAIL,
            reply.sequence,
            Body::SubmitSmResp(Default::default()),
        )
        .encode(),
    )
    .await;

    // The service cannot store it: the SMSC gets the service's status (to retry), no reply.
    let seq = smsc
        .send(Body::DeliverSm(sm("84903123458", "5656", "S 0912 FAIL")))
        .await;
    let r = smsc.next_app().await.unwrap();
    assert_eq!(
        (r.command_id(), r.sequence, r.status),
        (cmd::DELIVER_SM_RESP, seq, status::ESME_RX_T_APPN)
    );
    // An MO message to another address is routed to ESMEs as before (none here: retry later),
    // never to the service.
    let seq = smsc.send(Body::DeliverSm(sm("84903123459", "8088", "hello"))).await;
    let r = smsc.next_app().await.unwrap();
    assert_eq!((r.sequence, r.status), (seq, status::ESME_RX_T_APPN));
    assert_eq!(stored.lock().unwrap().len(), 2);
    let st = fw.stats().snapshot();
    assert_eq!((st.local_mo, st.local_mo_refused), (2, 1));
    wait_for(|| fw.stats().snapshot().local_failed == 1).await;
    assert_eq!(fw.stats().snapshot().local_sent, 2);

    // The node's own messages (one-time passwords) go out over the same bind.
    let sender = fw.sender();
    let send = tokio::spawn(async move { sender.submit("5656", "+84912000001", "Ma xac nhan: 123456").await });
    let p = smsc.next_app().await.unwrap();
    let Body::SubmitSm(m) = &p.body else { panic!("{p:?}") };
    assert_eq!((m.dest.ton, &m.dest.addr[..]), (1, &b"84912000001"[..]));
    smsc.send_raw(
        &Pdu::new(
            p.sequence,
            Body::SubmitSmResp(chanrac_smpp::pdu::MessageIdResp {
                message_id: Bytes::from_static(b"otp-1"),
                tlvs: vec![],
            }),
        )
        .encode(),
    )
    .await;
    assert_eq!(send.await.unwrap(), Ok("otp-1".to_string()));
}
