//! Differential test against real Airflow: `airflow_3_1_8_decisions.txt`
//! holds the decisions Airflow 3.1.8's own `TriggerRuleDep` reaches (run as
//! the scheduler runs it, `flag_upstream_failed=True`) for every multiset of
//! up to three upstreams, setups included, and for direct upstreams combined
//! with indirect setups. Regenerate with
//! `python core/src/deps/tests/airflow_golden.py > core/src/deps/tests/airflow_3_1_8_decisions.txt`
//! using an Airflow 3.1 interpreter.

use super::{ALL_RULES, assert_well_formed, counts};
use crate::deps::{Decision, evaluate_with_setups, rule_name};

const GOLDEN: &str = include_str!("airflow_3_1_8_decisions.txt");

fn decision(letter: char) -> Decision {
    match letter {
        'R' => Decision::Run,
        'W' => Decision::Wait,
        'S' => Decision::Skip,
        'U' => Decision::UpstreamFailed,
        other => panic!("unknown decision letter {other:?}"),
    }
}

#[test]
fn every_decision_matches_airflow_3_1_8() {
    let mut cases = 0;
    let mut wrong = Vec::new();
    for line in GOLDEN.lines() {
        let mut fields = line.split('|');
        let (Some(direct), Some(indirect), Some(letters), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            panic!("malformed golden line {line:?}");
        };
        assert_eq!(letters.chars().count(), ALL_RULES.len(), "{line:?}");
        for (rule, letter) in ALL_RULES.into_iter().zip(letters.chars()) {
            cases += 1;
            let expected = decision(letter);
            let got = evaluate_with_setups(rule, &counts(direct), &counts(indirect));
            let context = format!("{} [{direct}] indirect [{indirect}]", rule_name(rule));
            assert_well_formed(&got, &context);
            if got.decision != expected {
                wrong.push(format!(
                    "{context}: Airflow {expected:?}, ours {:?}",
                    got.decision
                ));
            }
        }
    }
    // 1,240 upstream sets x 13 rules.
    assert_eq!(cases, 16_120);
    assert!(
        wrong.is_empty(),
        "{} cases differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
