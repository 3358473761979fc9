//! The language of a page, a chart or a message: Chinese first, English
//! on request. One type for the whole service.

/// A language the service speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Simplified Chinese (`zh-CN`), the primary language.
    #[default]
    Zh,
    /// English (`en`).
    En,
}

impl Lang {
    /// The BCP 47 tag (`zh-CN` or `en`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The language a value of `?lang=` or the language cookie names
    /// (`zh-CN`, `zh` or `en`), if any.
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "en" => Some(Lang::En),
            "zh-CN" | "zh" => Some(Lang::Zh),
            _ => None,
        }
    }

    /// The language for a BCP 47 tag: any `zh` tag is Chinese, anything
    /// else English.
    pub fn from_tag(tag: &str) -> Lang {
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("zh") {
            Lang::Zh
        } else {
            Lang::En
        }
    }

    /// Picks the Chinese or the English text.
    pub fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn tags_and_names_map_to_languages() {
        assert_eq!(Lang::parse("zh"), Some(Lang::Zh));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::from_tag("zh-TW"), Lang::Zh);
        assert_eq!(Lang::from_tag("en-GB"), Lang::En);
        assert_eq!(Lang::En.t("中", "en"), "en");
        assert_eq!(Lang::default().tag(), "zh-CN");
    }
}
