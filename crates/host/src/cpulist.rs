//! The kernel's CPU list format (`0-3,8,10-11`), as /sys and cpuset files use it.

/// Parses a CPU list; `None` when any part is not a number or a rising range. Empty is empty.
pub fn parse(list: &str) -> Option<Vec<u32>> {
    let list = list.trim();
    if list.is_empty() {
        return Some(Vec::new());
    }
    let mut cpus = Vec::new();
    for part in list.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        if b < a {
            return None;
        }
        cpus.extend(a..=b);
    }
    Some(cpus)
}

/// Formats CPUs (ascending) as a CPU list, joining runs into ranges.
pub fn format(cpus: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let start = cpus[i];
        let mut end = start;
        while i + 1 < cpus.len() && cpus[i + 1] == end + 1 {
            i += 1;
            end = cpus[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        assert_eq!(parse("0"), Some(vec![0]));
        assert_eq!(parse("0-3,8,10-11\n"), Some(vec![0, 1, 2, 3, 8, 10, 11]));
        assert_eq!(parse(""), Some(vec![]));
        assert_eq!(parse("x"), None);
        assert_eq!(parse("3-1"), None);
        assert_eq!(format(&[0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
        assert_eq!(format(&[]), "");
        assert_eq!(parse(&format(&[1, 2, 4])), Some(vec![1, 2, 4]));
    }
}
