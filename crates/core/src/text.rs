//! Texts in several languages, keyed by BCP 47 tag (`zh-CN`, `en`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

/// The language every instrument must provide, shown first on every page.
pub const PRIMARY_LANGUAGE: &str = "zh-CN";

/// One text in each of an instrument's languages.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Text(pub BTreeMap<String, String>);

impl Text {
    /// The text in `lang`, falling back to the primary language.
    pub fn get(&self, lang: &str) -> &str {
        self.0
            .get(lang)
            .or_else(|| self.0.get(PRIMARY_LANGUAGE))
            .map(String::as_str)
            .unwrap_or("")
    }

    /// A text given in Chinese and English, for labels the engine defines itself.
    pub fn zh_en(zh: &str, en: &str) -> Self {
        let mut map = BTreeMap::new();
        map.insert(PRIMARY_LANGUAGE.to_owned(), zh.to_owned());
        map.insert("en".to_owned(), en.to_owned());
        Text(map)
    }
}

/// A code, number or answer as typed, in Unicode normal form KC: what
/// Chinese input methods type in full width (`１９８５`, `１；３`, the
/// ideographic space) reads as the ASCII it stands for. ASCII text is
/// returned as it is, without a copy.
pub fn normalize(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        Cow::Borrowed(text)
    } else {
        use unicode_normalization::UnicodeNormalization as _;
        Cow::Owned(text.nfkc().collect())
    }
}

/// Codes with their labels in `lang`, as messages list what is allowed:
/// `1 (true), 2 (false)`, in Chinese `1（对）、2（错）`.
pub fn code_list<'a>(codes: impl IntoIterator<Item = (u16, &'a Text)>, lang: &str) -> String {
    let (open, close, sep) = if lang.starts_with("zh") {
        ("（", "）", "、")
    } else {
        (" (", ")", ", ")
    };
    codes
        .into_iter()
        .map(|(code, label)| format!("{code}{open}{}{close}", label.get(lang)))
        .collect::<Vec<_>>()
        .join(sep)
}
