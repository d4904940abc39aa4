//! One test per anomaly that snapshot isolation must forbid, and the write skew it allows.
#![expect(clippy::unwrap_used, reason = "tests")]

use crate::{CheckOptions, Model, Verdict, Workload, check_history};

fn check(workload: Workload, model: Model, history: &str) -> crate::Report {
    check_history(history, &CheckOptions::new(workload).with_model(model)).unwrap()
}

fn types(workload: Workload, model: Model, history: &str) -> (Verdict, Vec<String>) {
    let r = check(workload, model, history);
    (r.verdict, r.anomaly_types)
}

const SI: Model = Model::SnapshotIsolation;
const LA: Workload = Workload::ListAppend;
const RW: Workload = Workload::RwRegister;

#[test]
fn g0_write_cycle() {
    let h = "{:type :ok, :process 0, :value [[:append :x 1] [:append :y 1]]}
             {:type :ok, :process 1, :value [[:append :x 2] [:append :y 2]]}
             {:type :ok, :process 2, :value [[:r :x [1 2]] [:r :y [2 1]]]}";
    assert_eq!(types(LA, SI, h), (Verdict::Invalid, vec!["G0".to_string()]));
}

#[test]
fn g1a_aborted_read() {
    let h = "{:type :fail, :process 0, :value [[:append :x 1]]}
             {:type :ok, :process 1, :value [[:append :y 1]]}
             {:type :ok, :process 2, :value [[:r :x [1]] [:r :y [1]]]}";
    assert_eq!(
        types(LA, SI, h),
        (Verdict::Invalid, vec!["G1a".to_string()])
    );
    let h = "{:type :fail, :process 0, :value [[:w :x 1]]}
             {:type :ok, :process 1, :value [[:w :y 1]]}
             {:type :ok, :process 2, :value [[:r :x 1] [:r :y 1]]}";
    assert_eq!(
        types(RW, SI, h),
        (Verdict::Invalid, vec!["G1a".to_string()])
    );
}

#[test]
fn g1b_intermediate_read() {
    let h = "{:type :ok, :process 0, :value [[:w :x 1] [:w :x 2] [:w :y 1]]}
             {:type :ok, :process 1, :value [[:r :x 1] [:r :y 1]]}";
    assert_eq!(
        types(RW, SI, h),
        (Verdict::Invalid, vec!["G1b".to_string()])
    );
}

#[test]
fn g1c_circular_information_flow() {
    let h = "{:type :ok, :process 0, :value [[:w :x 1] [:r :y 1]]}
             {:type :ok, :process 1, :value [[:w :y 1] [:r :x 1]]}";
    assert_eq!(
        types(RW, SI, h),
        (Verdict::Invalid, vec!["G1c".to_string()])
    );
    assert_eq!(
        types(RW, Model::ReadUncommitted, h),
        (Verdict::Valid, vec![])
    );
}

#[test]
fn g_single_read_skew() {
    let h = "{:type :ok, :process 0, :value [[:append :x 1] [:append :y 1]]}
             {:type :ok, :process 1, :value [[:r :x [1]] [:r :y []]]}";
    assert_eq!(
        types(LA, SI, h),
        (Verdict::Invalid, vec!["G-single-item".to_string()])
    );
    assert_eq!(types(LA, Model::ReadCommitted, h), (Verdict::Valid, vec![]));
}

#[test]
fn lost_update() {
    let h = "{:type :ok, :process 0, :value [[:append :x 0]]}
             {:type :ok, :process 1, :value [[:r :x [0]] [:append :x 1]]}
             {:type :ok, :process 2, :value [[:r :x [0]] [:append :x 2]]}";
    let (v, t) = types(LA, SI, h);
    assert_eq!(v, Verdict::Invalid);
    assert!(t.contains(&"lost-update".to_string()), "{t:?}");
    let h = "{:type :ok, :process 0, :value [[:w :x 0]]}
             {:type :ok, :process 1, :value [[:r :x 0] [:w :x 1]]}
             {:type :ok, :process 2, :value [[:r :x 0] [:w :x 2]]}";
    assert_eq!(
        types(RW, SI, h),
        (Verdict::Invalid, vec!["lost-update".to_string()])
    );
}

#[test]
fn write_skew_is_allowed_by_snapshot_isolation_only() {
    let h = "{:type :ok, :process 0, :value [[:r :x nil] [:append :y 1]]}
             {:type :ok, :process 1, :value [[:r :y nil] [:append :x 1]]}";
    assert_eq!(types(LA, SI, h), (Verdict::Valid, vec![]));
    let r = check(LA, SI, h);
    assert_eq!(r.allowed_anomaly_types, vec!["G2-item"]);
    assert_eq!(
        types(LA, Model::Serializable, h),
        (Verdict::Invalid, vec!["G2-item".to_string()])
    );
}

#[test]
fn stale_read_needs_real_time() {
    let h = "{:type :invoke, :process 0, :value [[:append :x 1]]}
             {:type :ok, :process 0, :value [[:append :x 1]]}
             {:type :invoke, :process 1, :value [[:r :x nil]]}
             {:type :ok, :process 1, :value [[:r :x []]]}";
    assert_eq!(types(LA, Model::Serializable, h), (Verdict::Valid, vec![]));
    assert_eq!(
        types(LA, Model::StrictSerializable, h),
        (Verdict::Invalid, vec!["G-single-item-realtime".to_string()])
    );
}

#[test]
fn integrity_anomalies() {
    let internal = "{:type :ok, :process 0, :value [[:append :x 1] [:r :x [2]]]}";
    assert!(types(LA, SI, internal).1.contains(&"internal".to_string()));
    let dup = "{:type :ok, :process 0, :value [[:append :x 1]]}
               {:type :ok, :process 1, :value [[:r :x [1 1]]]}";
    assert!(
        types(LA, SI, dup)
            .1
            .contains(&"duplicate-elements".to_string())
    );
    let garbage = "{:type :ok, :process 0, :value [[:append :x 1]]}
                   {:type :ok, :process 1, :value [[:r :x [1 7]]]}";
    assert!(
        types(LA, SI, garbage)
            .1
            .contains(&"garbage-read".to_string())
    );
    let dirty = "{:type :fail, :process 0, :value [[:append :x 1]]}
                 {:type :ok, :process 1, :value [[:append :x 2]]}
                 {:type :ok, :process 2, :value [[:r :x [1 2]]]}";
    assert!(
        types(LA, Model::ReadCommitted, dirty)
            .1
            .contains(&"dirty-update".to_string())
    );
}

#[test]
fn explanation_names_the_cycle() {
    let h = "{:index 0, :type :ok, :process 0, :value [[:append :x 1] [:append :y 1]]}
             {:index 1, :type :ok, :process 1, :value [[:r :x [1]] [:r :y []]]}";
    let r = check(LA, SI, h);
    let text = r.to_string();
    assert!(text.contains("T0 -wr-> T1"), "{text}");
    assert!(text.contains("T1 -rw-> T0"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["verdict"], "invalid");
    assert_eq!(json["anomalies"][0]["type"], "G-single-item");
    assert_eq!(json["anomalies"][0]["cycle"].as_array().unwrap().len(), 2);
}

#[test]
fn indeterminate_writes_may_be_seen() {
    let h = "{:type :invoke, :process 0, :value [[:append :x 1]]}
             {:type :info, :process 0, :value [[:append :x 1]]}
             {:type :invoke, :process 1, :value [[:r :x nil]]}
             {:type :ok, :process 1, :value [[:r :x [1]]]}";
    assert_eq!(
        types(LA, Model::StrictSerializable, h),
        (Verdict::Valid, vec![])
    );
}
