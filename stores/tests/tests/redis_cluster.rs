//! `RedisStore::cluster` against a real three-node Redis Cluster (`WEBGATES_REDIS_CLUSTER_URLS`):
//! the conformance suite, the ten-caller renewal race over ten cluster connections, and batched
//! reads across every node.

use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use webgates_sessions::store::conformance::{self, CASES};
use webgates_sessions::store::{Expect, Store};
use webgates_sessions_redis::RedisStore;
use webgates_sessions_stores_tests::*;

async fn connect(urls: &str) -> ClusterConnection {
    ClusterClient::new(urls.split(',').map(str::trim).collect::<Vec<_>>())
        .expect("valid URLs")
        .get_async_connection()
        .await
        .expect("connect to the cluster")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_store_passes_every_conformance_case() {
    let Some(urls) = engine_url("WEBGATES_REDIS_CLUSTER_URLS") else {
        return;
    };
    let store = RedisStore::cluster(connect(&urls).await);
    let passed = conformance::run(&store, &fresh_namespace("cluster"))
        .await
        .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(passed, CASES.iter().map(|c| c.name).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_many_over_keys_on_every_node_answers_in_the_order_asked() {
    let Some(urls) = engine_url("WEBGATES_REDIS_CLUSTER_URLS") else {
        return;
    };
    let store = RedisStore::cluster(connect(&urls).await);
    let ns = fresh_namespace("cluster");
    // Keys outside a directory hash alone: 40 of them land on all three nodes.
    let keys: Vec<String> = (0..40).map(|i| format!("s/{ns}-{i}")).collect();
    for (i, key) in keys.iter().enumerate().filter(|(i, _)| i % 3 != 0) {
        store
            .put(key, i.to_string().into_bytes(), Expect::Absent, None)
            .await
            .expect("put");
    }
    let asked: Vec<&str> = keys.iter().rev().map(String::as_str).collect();
    let got = store.get_many(&asked).await.expect("get_many");
    for (key, entry) in asked.iter().zip(&got) {
        let i: usize = key
            .rsplit('-')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("index");
        match entry {
            Some(e) => assert_eq!(e.value, i.to_string().into_bytes(), "{key}"),
            None => assert_eq!(i % 3, 0, "{key} is missing"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_renewals_over_ten_cluster_connections_rotate_once_and_share_one_successor() {
    let Some(urls) = engine_url("WEBGATES_REDIS_CLUSTER_URLS") else {
        return;
    };
    race_renewals("cluster", || async {
        RedisStore::cluster(connect(&urls).await)
    })
    .await;
}
