//! The CDR reader: both formats, extra columns, quoting, bad lines with their numbers, and
//! arbitrary input without a panic.

use chanrac_calls::{BadLine, CallCategory, CdrError, CdrReader, Format, Label, Number, Origin};
use proptest::prelude::*;

fn read_all(text: &[u8]) -> (Vec<chanrac_calls::Cdr>, Vec<BadLine>, u64) {
    let mut r = CdrReader::new(text);
    let mut out = Vec::new();
    while let Some(c) = r.next_cdr().expect("no stream error") {
        out.push(c);
    }
    (out, r.bad_lines().to_vec(), r.bad_count())
}

#[test]
fn csv_with_extra_columns_in_any_order() {
    let text = "\u{feff}call_id,callee,caller,start_time,answered,duration_s,origin,operator,displayed_number,cell\r\n\
                c1,0987654321,0912345678,2026-11-22T09:00:00+07:00,true,35,domestic,viettel,,A17\r\n\
                c2,\"0987 654 322\",\"+84912345678\",2026-11-22T02:00:05Z,FALSE,2,International,\"mobi,fone\",+85512345678,B2\r\n";
    let (calls, bad, n) = read_all(text.as_bytes());
    assert_eq!((bad, n), (vec![], 0));
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].caller, Number::parse("+84912345678").unwrap());
    assert_eq!(
        calls[0].displayed, calls[0].caller,
        "an empty displayed number is the caller"
    );
    assert_eq!(
        (calls[0].duration_s, calls[0].answered, calls[0].origin),
        (35, true, Origin::Domestic)
    );
    assert_eq!(calls[1].start, calls[0].start + 5);
    assert_eq!(calls[1].callee.to_string(), "+84987654322");
    assert_eq!(calls[1].displayed.to_string(), "+85512345678");
    assert_eq!((calls[1].answered, calls[1].origin), (false, Origin::International));
}

#[test]
fn bad_lines_are_counted_with_their_numbers_and_skipped() {
    let text = "start_time,caller,displayed_number,callee,duration_s,answered,origin,operator,label\n\
                2026-11-22T09:00:00+07:00,0912345678,,0987654321,35,true,domestic,viettel,ham\n\
                yesterday,0912345678,,0987654321,35,true,domestic,viettel,\n\
                2026-11-22T09:00:00+07:00,anonymous,,0987654321,35,true,domestic,viettel,\n\
                2026-11-22T09:00:00+07:00,0912345678,,0987654321,-3,true,domestic,viettel,\n\
                2026-11-22T09:00:00+07:00,0912345678,,0987654321,35,maybe,domestic,viettel,\n\
                2026-11-22T09:00:00+07:00,0912345678,,0987654321,35,true,satellite,viettel,\n\
                2026-11-22T09:00:00+07:00,0912345678\n\
                \n\
                2026-11-22T09:00:00+07:00,\"0912345678,,0987654321,35,true,domestic,viettel,\n\
                2026-11-22T09:00:00+07:00,0912345678,,0987654321,35,true,domestic,viettel,robot\n\
                2026-11-22T09:01:00+07:00,0912345678,,0987654321,35,true,domestic,viettel,wangiri\n";
    let (calls, bad, n) = read_all(text.as_bytes());
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (calls[0].label, calls[1].label),
        (Some(Label::Ham), Some(Label::Unwanted(CallCategory::Wangiri)))
    );
    let lines: Vec<u64> = bad.iter().map(|b| b.line).collect();
    assert_eq!(lines, vec![3, 4, 5, 6, 7, 8, 10, 11]);
    assert_eq!(n, 8);
    for (b, word) in bad.iter().zip([
        "start_time",
        "caller",
        "duration_s",
        "answered",
        "origin",
        "fields",
        "quoted",
        "label",
    ]) {
        assert!(b.reason.contains(word), "line {}: {} lacks {word}", b.line, b.reason);
    }
}

#[test]
fn json_lines_with_extra_fields() {
    let text = br#"{"start_time":"2026-11-22T09:00:00+07:00","caller":"0912345678","displayed_number":"0912345678","callee":"0987654321","duration_s":3,"answered":false,"origin":"voip","operator":"viettel","cell":"A1"}
{"start_time":"2026-11-22T09:00:00+07:00","caller":"0912345678"}
not json
{"start_time":"2026-11-22T09:00:01+07:00","caller":"0912345678","callee":"0987654322","duration_s":30,"answered":true,"origin":"domestic","operator":"v","label":"robocall"}
"#;
    let mut r = CdrReader::new(&text[..]);
    let a = r.next_cdr().unwrap().unwrap();
    assert_eq!(r.format(), Some(Format::JsonLines));
    assert_eq!((a.origin, a.answered, a.duration_s), (Origin::Voip, false, 3));
    let b = r.next_cdr().unwrap().unwrap();
    assert_eq!(b.label, Some(Label::Unwanted(CallCategory::Robocall)));
    assert!(r.next_cdr().unwrap().is_none());
    assert_eq!(r.bad_lines().iter().map(|b| b.line).collect::<Vec<_>>(), vec![2, 3]);
}

#[test]
fn a_header_without_the_required_columns_stops_the_stream() {
    let mut r = CdrReader::new(&b"time,from,to\n1,2,3\n"[..]);
    match r.next_cdr() {
        Err(CdrError::Header { missing }) => assert!(missing.contains("start_time") && missing.contains("caller")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_lines_kept_are_bounded_but_all_counted() {
    let mut text = String::from("start_time,caller,displayed_number,callee,duration_s,answered,origin,operator\n");
    for _ in 0..50 {
        text.push_str("garbage\n");
    }
    let mut r = CdrReader::new(text.as_bytes()).max_bad_kept(10);
    while r.next_cdr().unwrap().is_some() {}
    assert_eq!((r.bad_lines().len(), r.bad_count(), r.records()), (10, 50, 0));
}

proptest! {
    #[test]
    fn any_input_gives_records_or_bad_lines(lines in prop::collection::vec("[ -~]{0,120}", 0..20)) {
        let mut text = String::from("start_time,caller,displayed_number,callee,duration_s,answered,origin,operator\n");
        for l in &lines {
            text.push_str(l);
            text.push('\n');
        }
        let mut r = CdrReader::new(text.as_bytes());
        while r.next_cdr().unwrap().is_some() {}
        prop_assert!(r.records() + r.bad_count() <= lines.len() as u64);
    }

    #[test]
    fn the_fast_number_path_agrees_with_the_core(s in "(\\+84|0|84|\\+|00|\\+084)?[0-9]{0,12}") {
        let ours = Number::parse(&s).ok().map(|n| n.to_string());
        let core = match chanrac_core::phone::parse_number(&s) {
            Ok(Some(p)) => Some(p.key),
            Ok(None) => None,
            Err(_) => Some(String::new()),
        };
        match (&ours, &core) {
            // The spoofing forms keep their digits; the core only says they are malformed.
            (Some(o), Some(c)) if c.is_empty() => prop_assert!(o.starts_with('+')),
            // Digits of no known form are kept as `Other` here and refused by the core.
            (Some(_), None) => prop_assert_eq!(Number::parse(&s).unwrap().kind(), chanrac_calls::NumberKind::Other),
            _ => prop_assert_eq!(ours, core),
        }
    }
}
