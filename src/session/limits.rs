//! [`Limits`]: how long sessions live and how many a store keeps, shared
//! by every store so that they all expire and evict by the same rules.
//!
//! # Expiry
//! A session ends `idle` after its last use or `absolute` after it began,
//! whichever comes first. A *remembered* session ("keep me signed in")
//! uses `remember_idle` and `remember_absolute` instead.
//!
//! # Room, and who makes way for whom
//! At most `max_sessions` sessions live at once, in three tiers, each of
//! which evicts its least recently used session when it is full:
//!
//! | tier | holds | share of `max_sessions` |
//! |---|---|---|
//! | fresh | new anonymous sessions whose client has not come back yet | ¼ |
//! | anonymous | anonymous sessions whose client came back | ¼ |
//! | owned | sessions of signed-in users | ½ |
//!
//! A flood of cookie-less requests churns only the fresh tier; a flood of
//! visitors that come back churns only the anonymous tier. Neither ever
//! evicts a signed-in user's session: only another login can, and one
//! user holds at most `max_sessions_per_user` sessions (a login past that
//! ends the user's least recently used one), so no single account can
//! crowd the owned tier either. Once one of the two anonymous tiers is
//! crowded ([`Limits::crowded_at`]), the sessions one client address
//! began hold at most a twenty-fifth of it ([`Limits::fresh_per_origin`],
//! [`Limits::returning_per_origin`]), so one address's flood, with or
//! without its cookies sent back, evicts only its own sessions.

use std::time::Duration;

use super::record::Record;

/// Seven days: how long a remembered session may sit unused by default.
pub const REMEMBER_IDLE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Thirty days: the most a remembered session lives by default.
pub const REMEMBER_ABSOLUTE: Duration = Duration::from_secs(30 * 24 * 3600);
/// Sessions one user may hold at once by default.
pub const MAX_PER_USER: u64 = 20;

/// The timeouts and bounds of a store.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use memsess::session::{Limits, Record};
///
/// let limits = Limits::new(1000, Duration::from_secs(1800), Duration::from_secs(43200));
/// assert_eq!(limits.idle_for(false), Duration::from_secs(1800));
/// assert_eq!(limits.idle_for(true), Duration::from_secs(7 * 24 * 3600));
///
/// let record = Record::new("{}", 1);
/// assert_eq!(limits.deadline_ms(&record), record.created_ms + 43_200_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most live sessions, over all tiers.
    pub max_sessions: u64,
    /// The most live sessions of one owner.
    pub max_sessions_per_user: u64,
    /// An ordinary session not used for this long is gone.
    pub idle: Duration,
    /// An ordinary session is gone this long after it began.
    pub absolute: Duration,
    /// `idle` for remembered sessions.
    pub remember_idle: Duration,
    /// `absolute` for remembered sessions.
    pub remember_absolute: Duration,
}

/// The capacity of each tier (see the module docs).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use memsess::session::Limits;
///
/// let tiers = Limits::new(1000, Duration::from_secs(60), Duration::from_secs(600)).tiers();
/// assert_eq!((tiers.fresh, tiers.anonymous, tiers.owned), (250, 250, 500));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tiers {
    /// New anonymous sessions.
    pub fresh: u64,
    /// Anonymous sessions whose client came back.
    pub anonymous: u64,
    /// Signed-in users' sessions.
    pub owned: u64,
}

impl Limits {
    /// Limits with these three and the defaults for the rest: remembered
    /// sessions live 7 days unused and 30 days at most, 20 per user.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use memsess::session::Limits;
    ///
    /// let limits = Limits::new(100, Duration::from_secs(60), Duration::from_secs(600));
    /// assert_eq!(limits.max_sessions_per_user, 20);
    /// assert_eq!(limits.remember_absolute, Duration::from_secs(30 * 24 * 3600));
    /// ```
    pub fn new(max_sessions: u64, idle: Duration, absolute: Duration) -> Self {
        Limits {
            max_sessions,
            max_sessions_per_user: MAX_PER_USER,
            idle,
            absolute,
            remember_idle: REMEMBER_IDLE,
            remember_absolute: REMEMBER_ABSOLUTE,
        }
    }

    /// The idle timeout of a session that is, or is not, remembered.
    pub fn idle_for(&self, remembered: bool) -> Duration {
        if remembered {
            self.remember_idle
        } else {
            self.idle
        }
    }

    /// The absolute timeout of a session that is, or is not, remembered.
    pub fn absolute_for(&self, remembered: bool) -> Duration {
        if remembered {
            self.remember_absolute
        } else {
            self.absolute
        }
    }

    /// When `record` ends however busy it is, in ms since the Unix epoch.
    pub fn deadline_ms(&self, record: &Record) -> u64 {
        let absolute = self.absolute_for(record.remembered).as_millis() as u64;
        record.created_ms.saturating_add(absolute)
    }

    /// When `record`, last used at `last_seen_ms`, ends if nobody uses it
    /// again: the sooner of its idle end and its deadline.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use memsess::session::{Limits, Record};
    ///
    /// let limits = Limits::new(100, Duration::from_secs(60), Duration::from_secs(600));
    /// let record = Record { created_ms: 0, ..Record::new("{}", 1) };
    /// assert_eq!(limits.ends_ms(&record, 1_000), 61_000);
    /// assert_eq!(limits.ends_ms(&record, 590_000), 600_000);
    /// ```
    pub fn ends_ms(&self, record: &Record, last_seen_ms: u64) -> u64 {
        let idle = self.idle_for(record.remembered).as_millis() as u64;
        last_seen_ms
            .saturating_add(idle)
            .min(self.deadline_ms(record))
    }

    /// How many sessions of the fresh tier one client address may hold
    /// once it is crowded: a twenty-fifth of the tier, at least 16 (see
    /// `origin.rs`).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use memsess::session::Limits;
    ///
    /// let limits = Limits::new(100_000, Duration::from_secs(60), Duration::from_secs(600));
    /// assert_eq!(limits.fresh_per_origin(), 1000);
    /// ```
    pub fn fresh_per_origin(&self) -> u64 {
        (self.tiers().fresh / 25).max(16)
    }

    /// How many sessions of the anonymous tier (returning visitors) the
    /// sessions begun by one client address may hold once it is crowded:
    /// a twenty-fifth of the tier, at least 16 (see `origin.rs`).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use memsess::session::Limits;
    ///
    /// let limits = Limits::new(100_000, Duration::from_secs(60), Duration::from_secs(600));
    /// assert_eq!(limits.returning_per_origin(), 1000);
    /// ```
    pub fn returning_per_origin(&self) -> u64 {
        (self.tiers().anonymous / 25).max(16)
    }

    /// The size at which a tier of `capacity` sessions is *crowded*, so
    /// that an address over its share of it starts to make way with its
    /// own sessions: nine tenths full, and at least 1,024 short of full,
    /// so a tier of up to 1,024 always is. The margin is room for the
    /// shares to work before the tier is full (an address over its share
    /// gives back at most 16 sessions per arrival), since a full tier's
    /// own eviction takes anybody's least recently used session.
    ///
    /// # Examples
    /// ```
    /// use memsess::session::Limits;
    ///
    /// assert_eq!(Limits::crowded_at(25_000), 22_500);
    /// assert_eq!(Limits::crowded_at(5_000), 3_976);
    /// assert_eq!(Limits::crowded_at(100), 0);
    /// ```
    pub fn crowded_at(capacity: u64) -> u64 {
        capacity.saturating_sub((capacity / 10).max(1024))
    }

    /// Each tier's share of `max_sessions`: a quarter each for the fresh
    /// and anonymous tiers, the rest for owned sessions (at least one
    /// each; `max_sessions` of 4 or more keeps the sum within it).
    pub fn tiers(&self) -> Tiers {
        let quarter = (self.max_sessions / 4).max(1);
        Tiers {
            fresh: quarter,
            anonymous: quarter,
            owned: self.max_sessions.saturating_sub(2 * quarter).max(1),
        }
    }
}
