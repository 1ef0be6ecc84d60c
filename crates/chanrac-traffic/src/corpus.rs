//! The texts the generator draws from: the labeled collections shipped in `data/`.

use std::path::Path;

use chanrac_core::Category;

use crate::TrafficError;

/// Texts by use.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    /// Personal messages in Vietnamese.
    pub ham_vi: Vec<String>,
    /// Personal messages in English.
    pub ham_en: Vec<String>,
    /// Real transactional and brand messages (banks, operators, shops), as brandnames send
    /// them.
    pub brand: Vec<String>,
    /// Spam and scam texts, used as campaign templates, with their label.
    pub unwanted: Vec<(String, Category)>,
}

/// What each file of `data/` gives: (file, where its ham goes, whether its spam is used).
const FILES: &[(&str, HamUse, bool)] = &[
    ("uci_sms_spam_collection_en.tsv", HamUse::English, true),
    // A machine translation of the file above: its spam would repeat the same templates.
    ("vi_translated_uci_huynhphong385.tsv", HamUse::Vietnamese, false),
    ("vi_spam_ankhanhtran02.tsv", HamUse::Vietnamese, true),
    ("vi_smishing_ie403_part_a.tsv", HamUse::Brand, true),
];

#[derive(Debug, Clone, Copy)]
enum HamUse {
    English,
    Vietnamese,
    Brand,
}

impl Corpus {
    /// Reads the shipped collections from a `data/` directory. Every file must be there.
    pub fn load_dir(dir: &Path) -> Result<Corpus, TrafficError> {
        let mut c = Corpus::default();
        for (name, ham, spam) in FILES {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path).map_err(|e| TrafficError::Io {
                path: path.display().to_string(),
                source: e,
            })?;
            c.add_tsv(&path.display().to_string(), &text, *ham, *spam)?;
        }
        if c.ham_vi.is_empty() || c.ham_en.is_empty() || c.brand.is_empty() || c.unwanted.is_empty() {
            return Err(TrafficError::Corpus(format!(
                "{}: the collections lack ham, brand or spam texts",
                dir.display()
            )));
        }
        Ok(c)
    }

    fn add_tsv(&mut self, name: &str, text: &str, ham: HamUse, spam: bool) -> Result<(), TrafficError> {
        let mut lines = text.lines();
        match lines.next() {
            Some(h) if h.trim_end() == "label\ttext" => {}
            _ => {
                return Err(TrafficError::Corpus(format!(
                    "{name}:1: expected the header `label<TAB>text`"
                )));
            }
        }
        for (i, line) in lines.enumerate() {
            let Some((label, t)) = line.split_once('\t') else {
                return Err(TrafficError::Corpus(format!("{name}:{}: no tab", i + 2)));
            };
            let t = t.trim();
            if t.is_empty() {
                continue;
            }
            match (Category::parse(label), ham) {
                (Some(Category::Ham), HamUse::English) => self.ham_en.push(t.into()),
                (Some(Category::Ham), HamUse::Vietnamese) => self.ham_vi.push(t.into()),
                (Some(Category::Ham), HamUse::Brand) => self.brand.push(t.into()),
                (Some(c @ (Category::Spam | Category::Scam)), _) if spam => self.unwanted.push((t.into(), c)),
                (Some(_), _) => {}
                (None, _) => {
                    return Err(TrafficError::Corpus(format!(
                        "{name}:{}: unknown label {label:?}",
                        i + 2
                    )));
                }
            }
        }
        Ok(())
    }
}
