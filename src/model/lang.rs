//! The staff screens' language: a store setting (config `[tui] lang`, `--lang`), so it lives
//! below the config and the screens alike.

use serde::{Deserialize, Serialize};

/// The screen language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Lang {
    /// 简体中文.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The code written in configs: `zh` or `en`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "zh" | "zh-CN" | "zh_CN" => Ok(Lang::Zh),
            "en" | "en-US" | "en_US" => Ok(Lang::En),
            other => Err(format!("unknown language `{other}` (zh or en)")),
        }
    }
}

impl TryFrom<String> for Lang {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
            .map_err(|_| format!("`{s}` is not a language: use zh or en"))
    }
}

impl From<Lang> for &'static str {
    fn from(l: Lang) -> Self {
        l.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_their_spellings() {
        for (text, lang) in [("zh", Lang::Zh), ("zh-CN", Lang::Zh), ("en_US", Lang::En)] {
            assert_eq!(text.parse::<Lang>(), Ok(lang));
        }
        assert!("fr".parse::<Lang>().is_err());
        assert_eq!(Lang::En.as_str().parse::<Lang>(), Ok(Lang::En));
    }
}
