//! The statistical classifier inside the engine: the shipped model, its signals and policy,
//! deterministic training on real data, and online learning.

use std::path::Path;
use std::sync::Arc;

use chanrac_core::features::FeatureConfig;
use chanrac_core::model::train::{self, Digest, Provenance, group_of};
use chanrac_core::model::{Dataset, Label, Model, TrainConfig};
use chanrac_core::{Engine, Message, Policy, Scratch};

/// `(label, text)` rows of a data file (plain TSV with a header, no quoting).
fn rows(file: &str) -> Vec<(Label, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (label, text) = l.split_once('\t').unwrap();
            (Label::parse(label).unwrap(), text.to_string())
        })
        .collect()
}

/// The files the shipped model is trained on, in the order of the documented command.
const SHIPPED_DATA: [&str; 2] = ["uci_sms_spam_collection_en.tsv", "vi_smishing_ie403_part_a.tsv"];

#[test]
fn the_shipped_model_was_trained_on_the_shipped_data() {
    let m = Model::shipped().unwrap();
    let t = &m.header().training;
    let mut all = Digest::default();
    for (file, recorded) in SHIPPED_DATA.iter().zip(&t.files) {
        let mut one = Digest::default();
        let rows = rows(file);
        for (l, text) in &rows {
            one.update(*l, text);
            all.update(*l, text);
        }
        assert_eq!(recorded.name, *file);
        assert_eq!(recorded.rows, rows.len() as u64);
        assert_eq!(
            recorded.digest,
            one.hex(),
            "{file} changed since the shipped model was trained"
        );
    }
    assert_eq!(t.data_digest, all.hex());
    assert_eq!(t.files.len(), SHIPPED_DATA.len());
    assert_eq!(m.header().online_updates, 0);
    assert_eq!(m.header().features, FeatureConfig::default());
    assert_eq!(t.config, TrainConfig::default());
    // Small enough to ship (a few MB at most).
    assert!(chanrac_core::model::DEFAULT_MODEL.len() < 4 << 20);
}

/// (text, signal that must fire or `None` for none of the model's) — messages written for
/// this test, not taken from the training data.
const CASES: &[(&str, Option<&str>)] = &[
    (
        "Vietcombank thong bao: tai khoan cua quy khach da bi khoa. Vui long dang nhap https://vcb-xacthuc.top de mo khoa ngay",
        Some("MODEL_SCAM"),
    ),
    (
        "URGENT! You have WON a guaranteed £1000 cash prize. Call 09061701461 now to claim. T&C apply",
        Some("MODEL_SPAM"),
    ),
    ("Mai 7h đi đá bóng nhé, nhớ mang giày", None),
    ("Ok, see you at lunch tomorrow. I'll bring the notes", None),
    ("Ma OTP cua ban la 482913. Khong chia se ma nay voi bat ky ai.", None),
];

#[test]
fn the_default_engine_lists_the_models_signal() {
    let e = Engine::with_defaults().unwrap();
    assert!(e.model().is_some());
    for (text, want) in CASES {
        let v = e.check(&Message::text(*text));
        let fired: Vec<&str> = v
            .reasons
            .iter()
            .map(|r| &*r.signal)
            .filter(|s| s.starts_with("MODEL_"))
            .collect();
        match want {
            Some(s) => {
                assert_eq!(fired, [*s], "{text}: {v:?}");
                let r = v.reasons.iter().find(|r| &*r.signal == *s).unwrap();
                assert!(r.evidence.starts_with("P("), "{r:?}");
                assert!(r.weight > 2.7 && r.weight <= 3.0, "{r:?}");
            }
            None => assert!(fired.is_empty(), "{text}: {v:?}"),
        }
    }
}

#[test]
fn the_model_alone_never_tags_by_default() {
    // Personal messages about money, which the model may find scam-like: with the default
    // policy its signal stays under the tag threshold when nothing else fires.
    let e = Engine::with_defaults().unwrap();
    let v = e.check(&Message::text(
        "Em ơi chị chuyển nhầm 200k vào tài khoản em, em chuyển lại giúp chị nhé",
    ));
    assert_eq!(v.action, chanrac_core::Action::Allow, "{v:?}");
    let max = e
        .policy()
        .weights
        .get("MODEL_SCAM")
        .copied()
        .unwrap_or(chanrac_core::signal::builtin("MODEL_SCAM").unwrap().weight);
    assert!(max < e.policy().thresholds.tag);
}

#[test]
fn the_policy_sets_thresholds_and_weights() {
    let scam = Message::text(CASES[0].0);
    let strict = Policy::from_toml("p.toml", "[model]\nscam_threshold = 1.0\nspam_threshold = 1.0\n").unwrap();
    let e = Engine::builder().policy(strict).build().unwrap();
    assert!(!e.check(&scam).has("MODEL_SCAM"));
    let heavy = Policy::from_toml("p.toml", "[weights]\nMODEL_SCAM = 20.0\n").unwrap();
    let e = Engine::builder().policy(heavy).build().unwrap();
    let v = e.check(&scam);
    let r = v.reasons.iter().find(|r| &*r.signal == "MODEL_SCAM").unwrap();
    assert!(r.weight > 10.0, "{r:?}");
    assert!(Policy::from_toml("p.toml", "[model]\nscam_threshold = 1.5\n").is_err());
    assert!(Policy::from_toml("p.toml", "[model]\nthreshold = 0.5\n").is_err());
    let off = Engine::builder().no_model().build().unwrap();
    assert!(off.model().is_none());
    assert!(!off.check(&scam).has("MODEL_SCAM"));
}

#[test]
fn listed_and_summed_features_give_the_same_prediction() {
    let e = Engine::with_defaults().unwrap();
    let m = e.model().unwrap().clone();
    let mut s = Scratch::default();
    for (label, text) in rows("vi_smishing_ie403_part_a.tsv").into_iter().take(60) {
        let msg = Message::text(text).from("0912345678");
        let listed = m.predict(e.features(&msg, m.featurizer(), &mut s));
        e.check_with(&msg, &mut s);
        let summed = m.predict_analysed(
            s.normalized(),
            &msg.text,
            s.findings(),
            &chanrac_core::phone::SenderId::parse("0912345678"),
            &mut chanrac_core::features::FeatureScratch::default(),
        );
        for c in 0..3 {
            assert!(
                (listed.probs[c] - summed.probs[c]).abs() < 1e-6,
                "{label:?} {listed:?} {summed:?}"
            );
        }
    }
}

fn dataset(engine: &Engine, files: &[&str], per_file: usize) -> (Dataset, Provenance) {
    let f = chanrac_core::features::Featurizer::new(FeatureConfig::default()).unwrap();
    let mut ds = Dataset::new();
    let mut p = Provenance::default();
    let mut s = Scratch::default();
    for file in files {
        for (label, text) in rows(file).into_iter().take(per_file) {
            p.digest.update(label, &text);
            let msg = Message::text(text);
            engine.features(&msg, &f, &mut s);
            let group = group_of(s.normalized().text());
            ds.push(label, s.features().indices(), group);
        }
    }
    (ds, p)
}

#[test]
fn training_on_real_data_is_deterministic() {
    let e = Engine::builder().no_model().build().unwrap();
    let (ds, p) = dataset(&e, &SHIPPED_DATA, 400);
    let cfg = TrainConfig {
        epochs: 3,
        ..TrainConfig::default()
    };
    let a = train::train(&ds, FeatureConfig::default(), cfg.clone(), &p).unwrap();
    let b = train::train(&ds, FeatureConfig::default(), cfg.clone(), &p).unwrap();
    assert_eq!(a.to_bytes(), b.to_bytes());
    let c = train::train(&ds, FeatureConfig::default(), TrainConfig { seed: 7, ..cfg }, &p).unwrap();
    assert_ne!(a.to_bytes(), c.to_bytes());
    assert_eq!(a.header().training.rows, 800);
    assert!(a.header().eval.is_some());
}

#[test]
fn online_learning_updates_and_saves() {
    let e = Engine::with_defaults().unwrap();
    let mut m = (**e.model().unwrap()).clone();
    let mut s = Scratch::default();
    // A new kind of scam the model has not seen, confirmed by an analyst.
    let msg = Message::text("Ban da trung 1 chuyen du lich Da Lat mien phi, nop phi giu cho 500k vao STK 0123456789");
    let before = m.predict(e.features(&msg, m.featurizer(), &mut s)).p(Label::Scam);
    let mut last = before;
    for _ in 0..5 {
        let (b, a) = m.learn_message(&e, &msg, Label::Scam, 0.5, &mut s);
        assert!(a > b);
        last = a;
    }
    assert!(last > before);
    assert_eq!(m.header().online_updates, 5);
    let saved = Model::from_bytes(&m.to_bytes()).unwrap();
    let e2 = Engine::builder().model(Arc::new(saved)).build().unwrap();
    let after = e2
        .model()
        .unwrap()
        .predict(e2.features(&msg, m.featurizer(), &mut s))
        .p(Label::Scam);
    assert!((after - last).abs() < 1e-6);
}
