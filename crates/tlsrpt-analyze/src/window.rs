//! The days an analysis covers.

use chrono::{Days, NaiveDate};
use serde::Serialize;

/// The default window (issue 5: "default 30 days"): long enough to see a monthly pattern,
/// short enough that a fixed problem stops colouring the status.
pub const DEFAULT_DAYS: u32 = 30;

/// UTC days `from..=to` (days of `date-range.start-datetime`, as the store rolls them up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Window {
    /// The `days` days ending with `to` (at least one).
    pub fn ending(to: NaiveDate, days: u32) -> Window {
        let from = to
            .checked_sub_days(Days::new(u64::from(days.max(1) - 1)))
            .unwrap_or(NaiveDate::MIN);
        Window { from, to }
    }

    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let to = self.to;
        self.from.iter_days().take_while(move |d| *d <= to)
    }

    pub fn len(&self) -> usize {
        usize::try_from((self.to - self.from).num_days() + 1).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.to < self.from
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        (self.from..=self.to).contains(&day)
    }

    /// Index of `day` in [`Window::days`].
    pub fn index(&self, day: NaiveDate) -> Option<usize> {
        self.contains(day)
            .then(|| usize::try_from((day - self.from).num_days()).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ending_counts_the_last_day() {
        let to = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
        let w = Window::ending(to, 30);
        assert_eq!(w.from, NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
        assert_eq!(w.len(), 30);
        assert_eq!(w.days().count(), 30);
        assert_eq!(w.index(to), Some(29));
        assert_eq!(w.index(w.from), Some(0));
        assert_eq!(w.index(to.succ_opt().unwrap()), None);
    }
}
