//! Wire names for the domain's fieldless enums.

/// `FromStr` and `Display` for an enum with `as_str()` and an `ALL` list:
/// parsing accepts exactly the names `as_str` gives, and a wrong one is
/// answered with every valid name, so API and CLI errors say what to send.
macro_rules! str_names {
    ($ty:ty, $what:literal) => {
        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$ty>::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| {
                        let names: Vec<&str> = <$ty>::ALL.iter().map(|v| v.as_str()).collect();
                        format!(
                            "'{}' is not a valid {}; expected one of: {}",
                            s,
                            $what,
                            names.join(", ")
                        )
                    })
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
