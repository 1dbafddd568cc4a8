//! Sharding: one run split across machines (one CI job each), `merge`d afterwards.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// More shards than this is a typo, not a plan.
pub const MAX_SHARDS: usize = 1000;

/// Shard `index` of `count` (1-based): the cases at golden positions index-1, index-1+count, ...
/// Written `I/N` on the command line and in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Whether the case at golden position `case` (0-based) belongs to this shard.
    pub fn holds(&self, case: usize) -> bool {
        case % self.count == self.index - 1
    }

    /// How many of `cases` cases this shard holds.
    pub fn cases(&self, cases: usize) -> usize {
        cases / self.count + usize::from(self.index - 1 < cases % self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || {
            format!("{text:?} is not a shard: write I/N, as in 2/4 (1 <= I <= N <= {MAX_SHARDS})")
        };
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let index: usize = index.trim().parse().map_err(|_| bad())?;
        let count: usize = count.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count || count > MAX_SHARDS {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Serialize for Shard {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Shard {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Shard, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_cases() {
        for count in 1..=7 {
            for cases in count..30 {
                let mut seen = vec![0; cases];
                let mut total = 0;
                for index in 1..=count {
                    let shard = Shard { index, count };
                    total += shard.cases(cases);
                    (0..cases)
                        .filter(|&c| shard.holds(c))
                        .for_each(|c| seen[c] += 1);
                }
                assert_eq!(total, cases);
                assert!(seen.iter().all(|&n| n == 1));
            }
        }
    }

    #[test]
    fn parse_display_and_serde_round_trip() {
        let shard: Shard = "2/4".parse().unwrap();
        assert_eq!(shard, Shard { index: 2, count: 4 });
        assert_eq!(shard.to_string(), "2/4");
        assert_eq!(serde_json::to_string(&shard).unwrap(), "\"2/4\"");
        assert_eq!(serde_json::from_str::<Shard>("\"2/4\"").unwrap(), shard);
        for bad in ["0/4", "5/4", "x", "1/1001", "1/"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
