//! Engine configuration.

/// When a commit is acknowledged relative to durability.
///
/// What survives, by mode (`docs/architecture/storage.md`, "Guarantees by sync mode"). In
/// every mode a crash or power loss never leaves a database that refuses to open, never makes
/// half a batch visible, and what survives is a prefix of the commit order (no phantom or
/// reordered commits). [`crate::Engine::sync`] makes everything acknowledged so far durable
/// in any mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// fsync the WAL before acknowledging a commit (group commit shares one fsync between
    /// concurrent committers). Process crash and power loss: every acknowledged commit
    /// survives.
    #[default]
    Full,
    /// Hand the WAL bytes to the operating system before acknowledging; a background thread
    /// fsyncs at least every [`Options::normal_sync_interval_ms`] while there are unsynced
    /// bytes (also at WAL rotation and close). Process crash: every acknowledged commit
    /// survives. Power loss: commits acknowledged more than one interval before it survive;
    /// later ones may be lost.
    Normal,
    /// Do not flush or fsync on commit (bytes may sit in a user-space buffer of up to 64 KiB
    /// until it fills, the WAL rotates, [`crate::Engine::sync`] or close). Process crash or
    /// power loss: commits acknowledged since the last of those may be lost.
    Off,
}

/// Engine options. `Options::default()` suits most uses.
#[derive(Clone, Debug)]
pub struct Options {
    /// Commit durability.
    pub sync: SyncMode,
    /// Memtable size in bytes before it is frozen and flushed to an L0 table.
    pub memtable_size: usize,
    /// Block cache capacity in bytes (shared by all tables).
    pub block_cache_bytes: usize,
    /// Largest accepted key.
    pub max_key_size: usize,
    /// Largest accepted value.
    pub max_value_size: usize,
    /// Frozen memtables allowed before writers stall.
    pub max_immutable_memtables: usize,
    /// L0 file count that triggers an L0 -> L1 compaction.
    pub l0_compaction_trigger: usize,
    /// L0 file count at which writers stall until compaction catches up.
    pub l0_stall_trigger: usize,
    /// Target size of L1 in bytes; each deeper level is `level_size_ratio` times larger.
    pub l1_target_bytes: u64,
    /// Size ratio between adjacent levels.
    pub level_size_ratio: u64,
    /// Target size of one compaction output file.
    pub target_file_size: u64,
    /// SST data block size.
    pub block_size: usize,
    /// Bloom filter bits per key.
    pub bloom_bits_per_key: usize,
    /// In [`SyncMode::Normal`], the longest time between WAL fsyncs.
    pub normal_sync_interval_ms: u64,
    /// The manifest is rewritten as a fresh snapshot when it grows beyond this many bytes.
    pub max_manifest_bytes: u64,
    /// Open without writing anything: the WAL is replayed in memory only, no file is created,
    /// renamed, truncated or deleted, and no lock is taken (so it works while another process
    /// has the database open read-write; it sees the state at open time). Writes, flushes and
    /// compactions return [`crate::Error::ReadOnly`]. The directory must hold a database.
    pub read_only: bool,
    /// Permission bits of files the engine creates on the real file system (Unix; the process
    /// umask still applies). Default `0o600`: owner read/write only, like a private database.
    pub file_mode: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sync: SyncMode::Full,
            memtable_size: 8 << 20,
            block_cache_bytes: 32 << 20,
            max_key_size: 64 << 10,
            max_value_size: 64 << 20,
            max_immutable_memtables: 2,
            l0_compaction_trigger: 4,
            l0_stall_trigger: 12,
            l1_target_bytes: 64 << 20,
            level_size_ratio: 10,
            target_file_size: 8 << 20,
            block_size: 4096,
            bloom_bits_per_key: 10,
            normal_sync_interval_ms: 1000,
            max_manifest_bytes: 4 << 20,
            read_only: false,
            file_mode: toondb_core::vfs::DEFAULT_FILE_MODE,
        }
    }
}
