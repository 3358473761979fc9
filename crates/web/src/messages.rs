//! The one message catalog: every text the pages and the server show a
//! person, in Chinese and English, as data (`crates/web/messages.json`,
//! embedded). Each entry has both languages and the same `{name}`
//! placeholders in each; [`check`] says so at start-up and in the tests,
//! and a test finds every key the code and the templates use in it.
//!
//! Texts are plain text: templates escape them like any other value.

use std::collections::HashMap;
use std::fmt::{self, Display};
use std::sync::OnceLock;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::lang::Lang;

/// The catalog's source, embedded in the binary.
pub const SOURCE: &str = include_str!("../messages.json");

/// One entry: the same message in both languages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    zh: String,
    en: String,
}

/// What is wrong with a catalog.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The text is not a JSON object of `{"zh": .., "en": ..}` entries
    /// (a repeated key included).
    #[error("message catalog: {0}")]
    Json(#[from] serde_json::Error),
    /// An entry has an empty text in one language.
    #[error("message catalog: `{key}` has no {lang} text")]
    Empty {
        /// The entry's key.
        key: String,
        /// The language tag missing.
        lang: &'static str,
    },
    /// The two languages of an entry name different placeholders.
    #[error("message catalog: `{key}` has placeholders {zh:?} in Chinese but {en:?} in English")]
    Placeholders {
        /// The entry's key.
        key: String,
        /// Placeholders of the Chinese text.
        zh: Vec<String>,
        /// Placeholders of the English text.
        en: Vec<String>,
    },
}

/// The parsed catalog: key to (Chinese, English).
#[derive(Debug, Default)]
pub struct Catalog {
    entries: HashMap<String, Entry>,
}

/// A JSON object whose keys must be unique (serde's maps keep the last).
struct Unique(HashMap<String, Entry>);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Unique;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of messages")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
                let mut out = HashMap::new();
                while let Some((k, v)) = map.next_entry::<String, Entry>()? {
                    if out.contains_key(&k) {
                        return Err(de::Error::custom(format!("`{k}` appears twice")));
                    }
                    out.insert(k, v);
                }
                Ok(Unique(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// The `{name}` placeholders of a text, sorted.
fn placeholders(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
        .collect();
    out.sort();
    out.dedup();
    out
}

impl Catalog {
    /// Parses and checks a catalog's text.
    pub fn parse(text: &str) -> Result<Catalog, CatalogError> {
        let Unique(entries) = serde_json::from_str(text)?;
        for (key, e) in &entries {
            for (lang, t) in [("zh-CN", &e.zh), ("en", &e.en)] {
                if t.trim().is_empty() {
                    return Err(CatalogError::Empty {
                        key: key.clone(),
                        lang,
                    });
                }
            }
            let (zh, en) = (placeholders(&e.zh), placeholders(&e.en));
            if zh != en {
                return Err(CatalogError::Placeholders {
                    key: key.clone(),
                    zh,
                    en,
                });
            }
        }
        Ok(Catalog { entries })
    }

    /// The text of `key` in `lang`, if the catalog has it.
    pub fn get(&self, key: &str, lang: Lang) -> Option<&str> {
        self.entries.get(key).map(|e| match lang {
            Lang::Zh => e.zh.as_str(),
            Lang::En => e.en.as_str(),
        })
    }

    /// Every key, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }
}

/// Checks the embedded catalog (start-up runs this and fails if it is
/// broken; the tests run it too).
pub fn check() -> Result<(), CatalogError> {
    Catalog::parse(SOURCE).map(|_| ())
}

/// The embedded catalog, parsed once (empty if broken: [`check`] refuses
/// to start the service then).
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        Catalog::parse(SOURCE).unwrap_or_else(|e| {
            tracing::error!(error = %e, "message catalog");
            Catalog::default()
        })
    })
}

impl Lang {
    /// The catalog's text for `key` in this language (the key itself if
    /// the catalog lacks it, which a test rules out for every key used).
    pub fn msg(self, key: &str) -> &'static str {
        catalog().get(key, self).unwrap_or_else(|| {
            tracing::error!(key, "message missing from the catalog");
            "(?)"
        })
    }

    /// The catalog's text for `key` with each `{name}` replaced by its
    /// value in `args`.
    /// Filled in one pass: a value holding `{name}` is never filled again.
    pub fn msgf(self, key: &str, args: &[(&str, &dyn Display)]) -> String {
        let mut rest = self.msg(key);
        let mut out = String::with_capacity(rest.len());
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let filled = after.split_once('}').and_then(|(name, tail)| {
                let (_, value) = args.iter().find(|(n, _)| *n == name)?;
                Some((value.to_string(), tail))
            });
            match filled {
                Some((value, tail)) => {
                    out.push_str(&value);
                    rest = tail;
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    #[test]
    fn the_embedded_catalog_is_complete_in_both_languages() {
        check().expect("the embedded catalog");
        assert!(catalog().keys().count() > 0);
    }

    #[test]
    fn broken_catalogs_are_refused() {
        let empty = Catalog::parse(r#"{"a": {"zh": "甲", "en": " "}}"#);
        assert!(matches!(empty, Err(CatalogError::Empty { lang: "en", .. })));
        let missing = Catalog::parse(r#"{"a": {"zh": "甲"}}"#);
        assert!(matches!(missing, Err(CatalogError::Json(_))));
        let extra = Catalog::parse(r#"{"a": {"zh": "甲", "en": "a", "fr": "a"}}"#);
        assert!(matches!(extra, Err(CatalogError::Json(_))));
        let twice =
            Catalog::parse(r#"{"a": {"zh": "甲", "en": "a"}, "a": {"zh": "乙", "en": "b"}}"#);
        assert!(matches!(twice, Err(CatalogError::Json(_))), "{twice:?}");
        let slots = Catalog::parse(r#"{"a": {"zh": "{n} 个", "en": "{count} of them"}}"#);
        assert!(matches!(slots, Err(CatalogError::Placeholders { .. })));
        let good = Catalog::parse(r#"{"a": {"zh": "{n} 个", "en": "{n} of them"}}"#)
            .expect("a good catalog");
        assert_eq!(good.get("a", Lang::En), Some("{n} of them"));
        assert_eq!(good.get("b", Lang::En), None);
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(placeholders("{a} and {b}, {a}"), ["a", "b"]);
        let key = "admin.invites_made";
        let text = Lang::En.msgf(key, &[("count", &3), ("round", &"2026")]);
        assert!(text.contains('3') && text.contains("2026"), "{text}");
        assert!(!text.contains('{'), "{text}");
        // A value is never filled again, whatever it holds.
        let text = Lang::En.msgf("chart.tip", &[("label", &"{share}"), ("share", &"12%")]);
        assert_eq!(text, "{share}: 12%");
    }

    /// Every key the sources and templates look up by a literal.
    fn used_keys() -> BTreeSet<String> {
        fn walk(dir: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("a source folder").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path
                    .extension()
                    .is_some_and(|e| e == "rs" || e == "html" || e == "svg")
                {
                    out.push(std::fs::read_to_string(&path).expect("a source file"));
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts = Vec::new();
        walk(&root.join("src"), &mut texts);
        walk(&root.join("templates"), &mut texts);
        let mut keys = BTreeSet::new();
        for text in &texts {
            for name in ["msg", "msgf", "msg_both", "with_text"] {
                let pat = format!("{name}(");
                for (at, _) in text.match_indices(&pat) {
                    let rest = text[at + pat.len()..].trim_start();
                    if let Some((key, _)) = rest.strip_prefix('"').and_then(|r| r.split_once('"')) {
                        keys.insert(key.to_owned());
                    }
                }
            }
        }
        keys
    }

    #[test]
    fn every_key_used_is_in_the_catalog_and_every_entry_is_used() {
        let used = used_keys();
        let known: BTreeSet<String> = catalog().keys().map(str::to_owned).collect();
        let missing: Vec<_> = used.difference(&known).collect();
        assert!(
            missing.is_empty(),
            "used but not in the catalog: {missing:?}"
        );
        let unused: Vec<_> = known.difference(&used).collect();
        assert!(
            unused.is_empty(),
            "in the catalog but never used: {unused:?}"
        );
    }
}
