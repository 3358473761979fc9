//! Demographic questions with engine-defined codes, so every round and
//! every province codes them alike.

use serde::Serialize;

use crate::text::Text;

/// A demographic question an instrument may ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Demographic {
    /// GB/T 2260 two-digit province code.
    Province,
    /// 1 urban, 2 rural.
    UrbanRural,
    /// 1 male, 2 female.
    Sex,
    /// Four-digit birth year giving an age of 18-69.
    BirthYear,
    /// Education level, 1 (primary or less) to 5 (bachelor or above).
    Education,
    /// Occupation group, 1-9.
    Occupation,
}

/// Youngest age in the survey population.
pub const MIN_AGE: i32 = 18;
/// Oldest age in the survey population.
pub const MAX_AGE: i32 = 69;

/// Every demographic question, in the usual order.
pub const ALL: [Demographic; 6] = [
    Demographic::Province,
    Demographic::UrbanRural,
    Demographic::Sex,
    Demographic::BirthYear,
    Demographic::Education,
    Demographic::Occupation,
];

const URBAN_RURAL: &[(u16, &str, &str)] = &[(1, "城镇", "urban"), (2, "农村", "rural")];
const SEX: &[(u16, &str, &str)] = &[(1, "男", "male"), (2, "女", "female")];
const EDUCATION: &[(u16, &str, &str)] = &[
    (1, "小学及以下", "primary or less"),
    (2, "初中", "junior high"),
    (
        3,
        "高中（含中专）",
        "senior high (incl. secondary vocational)",
    ),
    (4, "大学专科", "junior college"),
    (5, "大学本科及以上", "bachelor or above"),
];
const OCCUPATION: &[(u16, &str, &str)] = &[
    (
        1,
        "农林牧渔业人员",
        "farming, forestry, animal husbandry and fishery",
    ),
    (2, "生产运输人员", "production and transport workers"),
    (3, "商业服务业人员", "commerce and services"),
    (4, "专业技术人员", "professional and technical"),
    (5, "单位负责人", "heads and managers of organisations"),
    (6, "办事人员", "clerical and related"),
    (7, "学生", "students"),
    (
        8,
        "家务、离退休或无业",
        "homemakers, retired or not working",
    ),
    (9, "其他", "other"),
];

/// Region groupings used in the national reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    /// Eastern provinces.
    East,
    /// Central provinces.
    Central,
    /// Western provinces.
    West,
    /// North-eastern provinces (four-region scheme only).
    Northeast,
}

/// A province (provincial-level division) of mainland China.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Province {
    /// GB/T 2260 two-digit code.
    pub code: u16,
    /// Chinese name.
    pub name_zh: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// Region in the four-region scheme (east, central, west, northeast).
    pub region4: Region,
    /// Region in the three-region scheme (east, central, west).
    pub region3: Region,
}

/// The 31 provinces, as in `surveys/provinces-census-2020.csv` (a test
/// checks the two agree).
#[rustfmt::skip]
pub const PROVINCES: [Province; 31] = [
    Province { code: 11, name_zh: "北京", name_en: "Beijing", region4: Region::East, region3: Region::East },
    Province { code: 12, name_zh: "天津", name_en: "Tianjin", region4: Region::East, region3: Region::East },
    Province { code: 13, name_zh: "河北", name_en: "Hebei", region4: Region::East, region3: Region::East },
    Province { code: 14, name_zh: "山西", name_en: "Shanxi", region4: Region::Central, region3: Region::Central },
    Province { code: 15, name_zh: "内蒙古", name_en: "Inner Mongolia", region4: Region::West, region3: Region::West },
    Province { code: 21, name_zh: "辽宁", name_en: "Liaoning", region4: Region::Northeast, region3: Region::East },
    Province { code: 22, name_zh: "吉林", name_en: "Jilin", region4: Region::Northeast, region3: Region::Central },
    Province { code: 23, name_zh: "黑龙江", name_en: "Heilongjiang", region4: Region::Northeast, region3: Region::Central },
    Province { code: 31, name_zh: "上海", name_en: "Shanghai", region4: Region::East, region3: Region::East },
    Province { code: 32, name_zh: "江苏", name_en: "Jiangsu", region4: Region::East, region3: Region::East },
    Province { code: 33, name_zh: "浙江", name_en: "Zhejiang", region4: Region::East, region3: Region::East },
    Province { code: 34, name_zh: "安徽", name_en: "Anhui", region4: Region::Central, region3: Region::Central },
    Province { code: 35, name_zh: "福建", name_en: "Fujian", region4: Region::East, region3: Region::East },
    Province { code: 36, name_zh: "江西", name_en: "Jiangxi", region4: Region::Central, region3: Region::Central },
    Province { code: 37, name_zh: "山东", name_en: "Shandong", region4: Region::East, region3: Region::East },
    Province { code: 41, name_zh: "河南", name_en: "Henan", region4: Region::Central, region3: Region::Central },
    Province { code: 42, name_zh: "湖北", name_en: "Hubei", region4: Region::Central, region3: Region::Central },
    Province { code: 43, name_zh: "湖南", name_en: "Hunan", region4: Region::Central, region3: Region::Central },
    Province { code: 44, name_zh: "广东", name_en: "Guangdong", region4: Region::East, region3: Region::East },
    Province { code: 45, name_zh: "广西", name_en: "Guangxi", region4: Region::West, region3: Region::West },
    Province { code: 46, name_zh: "海南", name_en: "Hainan", region4: Region::East, region3: Region::East },
    Province { code: 50, name_zh: "重庆", name_en: "Chongqing", region4: Region::West, region3: Region::West },
    Province { code: 51, name_zh: "四川", name_en: "Sichuan", region4: Region::West, region3: Region::West },
    Province { code: 52, name_zh: "贵州", name_en: "Guizhou", region4: Region::West, region3: Region::West },
    Province { code: 53, name_zh: "云南", name_en: "Yunnan", region4: Region::West, region3: Region::West },
    Province { code: 54, name_zh: "西藏", name_en: "Tibet", region4: Region::West, region3: Region::West },
    Province { code: 61, name_zh: "陕西", name_en: "Shaanxi", region4: Region::West, region3: Region::West },
    Province { code: 62, name_zh: "甘肃", name_en: "Gansu", region4: Region::West, region3: Region::West },
    Province { code: 63, name_zh: "青海", name_en: "Qinghai", region4: Region::West, region3: Region::West },
    Province { code: 64, name_zh: "宁夏", name_en: "Ningxia", region4: Region::West, region3: Region::West },
    Province { code: 65, name_zh: "新疆", name_en: "Xinjiang", region4: Region::West, region3: Region::West },];

/// The province with this GB/T 2260 code.
pub fn province(code: u16) -> Option<&'static Province> {
    PROVINCES.iter().find(|p| p.code == code)
}

impl Demographic {
    /// Identifier, also the column name in answer and batch files.
    pub fn id(self) -> &'static str {
        match self {
            Demographic::Province => "province",
            Demographic::UrbanRural => "urban_rural",
            Demographic::Sex => "sex",
            Demographic::BirthYear => "birth_year",
            Demographic::Education => "education",
            Demographic::Occupation => "occupation",
        }
    }

    /// The question with this identifier.
    pub fn from_id(id: &str) -> Option<Demographic> {
        ALL.into_iter().find(|d| d.id() == id)
    }

    /// Fixed codes with their labels (empty for birth year, which is a year).
    pub fn codes(self) -> Vec<(u16, Text)> {
        let fixed = |table: &[(u16, &str, &str)]| {
            table
                .iter()
                .map(|&(code, zh, en)| (code, Text::zh_en(zh, en)))
                .collect()
        };
        match self {
            Demographic::Province => PROVINCES
                .iter()
                .map(|p| (p.code, Text::zh_en(p.name_zh, p.name_en)))
                .collect(),
            Demographic::UrbanRural => fixed(URBAN_RURAL),
            Demographic::Sex => fixed(SEX),
            Demographic::BirthYear => Vec::new(),
            Demographic::Education => fixed(EDUCATION),
            Demographic::Occupation => fixed(OCCUPATION),
        }
    }

    /// Whether `code` is one of the fixed codes (without building their
    /// labels, as [`Demographic::codes`] does: every submit checks six).
    fn has_code(self, code: u16) -> bool {
        let fixed = |table: &[(u16, &str, &str)]| table.iter().any(|&(c, _, _)| c == code);
        match self {
            Demographic::Province => PROVINCES.iter().any(|p| p.code == code),
            Demographic::UrbanRural => fixed(URBAN_RURAL),
            Demographic::Sex => fixed(SEX),
            Demographic::BirthYear => false,
            Demographic::Education => fixed(EDUCATION),
            Demographic::Occupation => fixed(OCCUPATION),
        }
    }

    /// Checks one answer ([`crate::text::normalize`]d, so full-width digits
    /// count); birth years are checked against `fieldwork_year`. Returns
    /// the code (or year), or why the value is not acceptable.
    pub fn parse(self, value: &str, fieldwork_year: i32) -> Result<u16, DemographicError> {
        let value = crate::text::normalize(value);
        let value = value.trim();
        if value.is_empty() {
            return Err(DemographicError::Required);
        }
        let Ok(number) = value.parse::<u16>() else {
            return Err(match self {
                Demographic::BirthYear => DemographicError::NotAYear,
                _ => DemographicError::NotACode(self),
            });
        };
        if self == Demographic::BirthYear {
            let age = fieldwork_year - i32::from(number);
            if (MIN_AGE..=MAX_AGE).contains(&age) {
                return Ok(number);
            }
            return Err(DemographicError::AgeOutside {
                age,
                year: fieldwork_year,
            });
        }
        if self.has_code(number) {
            Ok(number)
        } else {
            Err(DemographicError::NotACode(self))
        }
    }

    /// The codes with their labels in `lang`: `1 (male), 2 (female)`.
    fn allowed(self, lang: &str) -> String {
        crate::text::code_list(self.codes().iter().map(|(c, t)| (*c, t)), lang)
    }
}

/// Why a demographic answer is not acceptable (English by `Display`,
/// Chinese by [`DemographicError::zh`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DemographicError {
    /// Nothing given.
    #[error("is required")]
    Required,
    /// A birth year that is not a number.
    #[error("is not a four-digit year")]
    NotAYear,
    /// A birth year outside the surveyed ages.
    #[error(
        "gives an age of {age} in {year}; the survey covers ages {MIN_AGE}-{MAX_AGE} (birth years {}-{})",
        year - MAX_AGE,
        year - MIN_AGE
    )]
    AgeOutside {
        /// The age it gives.
        age: i32,
        /// The fieldwork year.
        year: i32,
    },
    /// Not one of the demographic's codes.
    #[error("is not a code: allowed are {}", .0.allowed("en"))]
    NotACode(Demographic),
}

impl DemographicError {
    /// The message in Chinese, for pages and reports read in Chinese.
    pub fn zh(&self) -> String {
        match self {
            DemographicError::Required => "必填".to_owned(),
            DemographicError::NotAYear => "不是四位数的年份".to_owned(),
            DemographicError::AgeOutside { age, year } => format!(
                "{year} 年时年龄为 {age} 岁；调查对象为 {MIN_AGE}–{MAX_AGE} 岁（出生年份 {}–{}）",
                year - MAX_AGE,
                year - MIN_AGE
            ),
            DemographicError::NotACode(d) => {
                format!("不是有效代码：可填 {}", d.allowed("zh-CN"))
            }
        }
    }
}

/// Age group (1: 18-29, 2: 30-39, 3: 40-49, 4: 50-59, 5: 60-69) of an age.
pub fn age_group(age: i32) -> Option<u16> {
    match age {
        18..=29 => Some(1),
        30..=39 => Some(2),
        40..=49 => Some(3),
        50..=59 => Some(4),
        60..=69 => Some(5),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provinces_agree_with_the_census_file() {
        let file = include_str!("../../../surveys/provinces-census-2020.csv");
        let rows: Vec<&str> = file.lines().skip(1).filter(|l| !l.is_empty()).collect();
        assert_eq!(rows.len(), PROVINCES.len());
        for (row, p) in rows.iter().zip(PROVINCES.iter()) {
            let f: Vec<&str> = row.split(',').collect();
            assert_eq!(f[0].parse::<u16>().unwrap(), p.code);
            assert_eq!(f[1], p.name_zh);
            assert_eq!(f[2], p.name_en);
            assert_eq!(f[3], format!("{:?}", p.region4).to_lowercase());
            assert_eq!(f[4], format!("{:?}", p.region3).to_lowercase());
        }
    }

    #[test]
    fn codes_are_checked() {
        assert_eq!(Demographic::Province.parse("44", 2026), Ok(44));
        let err = Demographic::Province.parse("99", 2026).unwrap_err();
        assert!(
            err.to_string()
                .contains("allowed are 11 (Beijing), 12 (Tianjin)"),
            "{err}"
        );
        assert!(
            err.zh()
                .starts_with("不是有效代码：可填 11（北京）、12（天津）"),
            "{}",
            err.zh()
        );
        assert_eq!(Demographic::Sex.parse(" 2 ", 2026), Ok(2));
        assert!(Demographic::Sex.parse("3", 2026).is_err());
        assert!(Demographic::Education.parse("x", 2026).is_err());
        assert_eq!(
            Demographic::Education.parse("", 2026),
            Err(DemographicError::Required)
        );
        assert_eq!(Demographic::Occupation.parse("9", 2026), Ok(9));
    }

    #[test]
    fn birth_year_gives_an_age_of_18_to_69() {
        assert_eq!(Demographic::BirthYear.parse("2008", 2026), Ok(2008));
        assert_eq!(Demographic::BirthYear.parse("1957", 2026), Ok(1957));
        let young = Demographic::BirthYear.parse("2009", 2026).unwrap_err();
        assert_eq!(
            young.to_string(),
            "gives an age of 17 in 2026; the survey covers ages 18-69 (birth years 1957-2008)"
        );
        assert_eq!(
            young.zh(),
            "2026 年时年龄为 17 岁；调查对象为 18–69 岁（出生年份 1957–2008）"
        );
        assert!(Demographic::BirthYear.parse("1956", 2026).is_err());
    }

    #[test]
    fn age_groups() {
        assert_eq!(age_group(17), None);
        assert_eq!(age_group(18), Some(1));
        assert_eq!(age_group(29), Some(1));
        assert_eq!(age_group(30), Some(2));
        assert_eq!(age_group(69), Some(5));
        assert_eq!(age_group(70), None);
    }
}
