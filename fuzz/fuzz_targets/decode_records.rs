//! Bytes stored as the value of a session, a family and a subject key of a `MemoryStore`, then
//! read through `Repository::session`, `family` and `subject`. Never panics; a record that
//! decodes belongs to its key, re-encodes to JSON that decodes to an equal record, and survives a
//! compare-and-set write and read back through the repository.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;
use webgates_sessions::repository::{family_key, session_key, subject_key, Repository};
use webgates_sessions::store::{Expect, Store};
use webgates_sessions::MemoryStore;
use webgates_sessions_fuzz::{block_on, family_id, session_id, subject};

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(record: &T) {
    let json = serde_json::to_vec(record).expect("a decoded record encodes");
    let back: T = serde_json::from_slice(&json).expect("a re-encoded record decodes");
    assert_eq!(&back, record, "record JSON round trip");
}

fuzz_target!(|data: &[u8]| {
    let (sid, family, subject) = (session_id(), family_id(), subject());
    let store = MemoryStore::new();
    for key in [session_key(sid), family_key(family), subject_key(&subject)] {
        block_on(store.put(&key, data.to_vec(), Expect::Any, None)).expect("memory store put");
    }
    let repo = Repository::new(store);

    if let Ok(Some(s)) = block_on(repo.session(sid)) {
        assert_eq!(s.record.sid, sid, "session record belongs to its key");
        round_trip(&s.record);
        let v = block_on(repo.put_session(&s.record, Expect::Version(s.version.clone())))
            .expect("memory store put")
            .expect("no conflict on the version just read");
        let back = block_on(repo.session(sid))
            .expect("re-read")
            .expect("present");
        assert_eq!(back.record, s.record, "session record survives a write");
        assert_eq!(back.version, v);
    }
    if let Ok(Some(f)) = block_on(repo.family(family)) {
        assert_eq!(f.record.family, family, "family record belongs to its key");
        round_trip(&f.record);
        block_on(repo.put_family(&f.record, Expect::Version(f.version.clone())))
            .expect("memory store put")
            .expect("no conflict on the version just read");
        let back = block_on(repo.family(family))
            .expect("re-read")
            .expect("present");
        assert_eq!(back.record, f.record, "family record survives a write");
    }
    if let Ok(Some(u)) = block_on(repo.subject(&subject)) {
        assert_eq!(
            u.record.subject, subject,
            "subject record belongs to its key"
        );
        round_trip(&u.record);
        let expires = webgates_sessions::Timestamp::from_secs(1);
        block_on(repo.put_subject(&u.record, Expect::Version(u.version.clone()), expires))
            .expect("memory store put")
            .expect("no conflict on the version just read");
        let back = block_on(repo.subject(&subject))
            .expect("re-read")
            .expect("present");
        assert_eq!(back.record, u.record, "subject record survives a write");
    }
});
