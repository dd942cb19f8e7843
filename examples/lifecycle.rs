//! A native walkthrough of a session's life: issue, verify, renew, retry in grace, replay,
//! logout, revoke, list, per-login lifetimes. Uses the in-memory store, OS randomness, and a clock that starts at the system
//! time and is moved forward explicitly so the walkthrough can skip minutes and days.
//!
//! Run: `cargo run --example lifecycle`

use std::sync::Arc;
use std::time::Duration;

use futures::executor::block_on;
use webgates_sessions::clock::{Clock, SystemClock};
use webgates_sessions::events::{Event, EventSink};
use webgates_sessions::random::OsRandom;
use webgates_sessions::{
    Authority, AuthorityConfig, ClientInfo, IssueRequest, KeySet, ListRequest, LogoutOutcome,
    ManualClock, MemoryStore, RenewOutcome, RevokeTarget, SigningKey, Subject,
};

struct PrintEvents;

impl EventSink for PrintEvents {
    fn emit(&self, event: &Event) {
        println!("      event: {}", event.kind());
    }
}

fn short(token: &str) -> String {
    format!("{}…", &token[..token.len().min(24)])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    block_on(walkthrough())
}

async fn walkthrough() -> Result<(), Box<dyn std::error::Error>> {
    let clock = ManualClock::new(SystemClock.now());
    let key = SigningKey::generate(&OsRandom)?;
    println!("signing key kid = {}", key.kid());
    let authority = Authority::builder(
        AuthorityConfig::new("https://auth.example", "api.example"),
        KeySet::new(key),
        MemoryStore::new(),
    )
    .clock(Arc::new(clock.clone()))
    .events(Arc::new(PrintEvents))
    .build()?;
    println!("JWKS: {}", authority.jwks().to_json());

    let alice = Subject::new("alice")?;
    let mut claims = webgates_sessions::AppClaims::new();
    claims.insert("role".into(), "admin".into());
    let client = ClientInfo {
        user_agent: Some("Firefox/140".into()),
        ip: Some("203.0.113.7".into()),
        device_id: None,
    };

    println!("\n1. issue a session for alice");
    let s = authority
        .issue(
            IssueRequest::new(alice.clone())
                .with_claims(claims)
                .with_client(client),
        )
        .await?;
    println!("   session {} family {}", s.session_id, s.family_id);
    println!("   access token  {}", short(&s.access_token));
    println!("   refresh token {}", short(&s.refresh_token));

    println!("\n2. a resource service verifies the access token with the JWKS only");
    let verified = authority.verifier().verify(&s.access_token)?;
    println!(
        "   sub={} sid={} role={} exp={}",
        verified.subject,
        verified.session_id,
        verified.claims["role"],
        verified.expires_at.as_secs()
    );

    println!("\n3. four minutes later the client renews");
    clock.advance(Duration::from_secs(240));
    let RenewOutcome::Renewed(r1) = authority.renew(&s.refresh_token).await? else {
        return Err("renewal failed".into());
    };
    println!(
        "   renewed: generation {} refresh token {}",
        r1.generation,
        short(&r1.refresh_token)
    );

    println!(
        "\n4. a second tab (or a lost response) retries the old token within the grace window"
    );
    clock.advance(Duration::from_secs(5));
    let RenewOutcome::Renewed(retry) = authority.renew(&s.refresh_token).await? else {
        return Err("grace retry failed".into());
    };
    println!(
        "   same successor: {}; fresh access token: {}",
        retry.refresh_token == r1.refresh_token,
        retry.access_token != r1.access_token
    );

    println!("\n5. the successor rotates; then someone presents the original token again");
    let RenewOutcome::Renewed(r2) = authority.renew(&r1.refresh_token).await? else {
        return Err("second renewal failed".into());
    };
    println!("   renewed: generation {}", r2.generation);
    match authority.renew(&s.refresh_token).await? {
        RenewOutcome::ReplayDetected { family_id, .. } => {
            println!("   replay detected: family {family_id} revoked")
        }
        other => return Err(format!("expected replay, got {}", other.kind()).into()),
    }
    match authority.renew(&r2.refresh_token).await? {
        RenewOutcome::Rejected { reason } => {
            println!("   the newest token is now rejected: {}", reason.code())
        }
        other => return Err(format!("expected rejection, got {}", other.kind()).into()),
    }

    println!("\n6. alice logs in on two devices, then logs the phone out with its refresh token");
    let phone = authority.issue(IssueRequest::new(alice.clone())).await?;
    let laptop = authority.issue(IssueRequest::new(alice.clone())).await?;
    match authority.logout(&phone.refresh_token).await? {
        LogoutOutcome::LoggedOut { session_id } => println!("   logged out {session_id}"),
        other => return Err(format!("expected logout, got {}", other.kind()).into()),
    }
    println!(
        "   phone active: {}, laptop active: {}",
        authority.is_active(phone.session_id).await?,
        authority.is_active(laptop.session_id).await?
    );
    let listed = authority
        .list_sessions(&alice, ListRequest::default())
        .await?;
    println!(
        "   live sessions: {:?}",
        listed
            .sessions
            .iter()
            .map(|i| i.session_id.to_string())
            .collect::<Vec<_>>()
    );
    println!("   (laptop is {})", laptop.session_id);

    println!("\n7. alice changes her password: log out everywhere");
    let ended = authority
        .revoke(RevokeTarget::Subject(alice.clone()))
        .await?;
    println!("   a live session was revoked: {ended}");
    match authority.renew(&laptop.refresh_token).await? {
        RenewOutcome::Rejected { reason } => {
            println!("   laptop renewal: rejected ({})", reason.code())
        }
        other => return Err(format!("expected rejection, got {}", other.kind()).into()),
    }
    println!(
        "   live sessions: {}",
        authority
            .list_sessions(&alice, ListRequest::default())
            .await?
            .sessions
            .len()
    );

    println!("\n8. a session left alone for 15 days idles out");
    let idle = authority.issue(IssueRequest::new(alice.clone())).await?;
    clock.advance(Duration::from_secs(15 * 24 * 3600));
    match authority.renew(&idle.refresh_token).await? {
        RenewOutcome::Rejected { reason } => {
            println!("   renewal after 15 days: rejected ({})", reason.code())
        }
        other => return Err(format!("expected expiry, got {}", other.kind()).into()),
    }
    println!("\n9. \"remember me\" off: this login idles out after one hour");
    let brief = authority
        .issue(IssueRequest::new(alice.clone()).with_refresh_idle_ttl(Duration::from_secs(3600)))
        .await?;
    clock.advance(Duration::from_secs(3601));
    match authority.renew(&brief.refresh_token).await? {
        RenewOutcome::Rejected { reason } => {
            println!("   renewal after an hour: rejected ({})", reason.code())
        }
        other => return Err(format!("expected expiry, got {}", other.kind()).into()),
    }
    println!("\nwalkthrough complete");
    Ok(())
}
