//! `type = "command"` scorers: a program the team already has reads `{case, output}` on
//! stdin and prints `{score, passed, reason}`; anything else fails the case.

use crate::support::{CRITERIA_PATH, GOLDEN_PATH, RUN, Test};

const SCORER: &str = r#"import json, sys
request = json.load(sys.stdin)
expected = request["case"]["expected"]
found = expected in request["output"].lower()
print(json.dumps({"score": 1.0 if found else 0.0, "passed": found,
                  "reason": f"{request['case']['id']}: {'found' if found else 'missing'} {expected}"}))
"#;

fn project(scorer: &str) -> Test {
    Test::project()
        .file("criteria/score.py", scorer)
        .criteria(
            CRITERIA_PATH,
            "../golden/g.jsonl",
            "[[scorers]]\nname = \"py\"\ntype = \"command\"\ncommand = \"python3 score.py\"\ntimeout_secs = 20\n\n[[gates]]\nmetric = \"pass_rate\"\nmin = 1.0\n",
        )
}

#[test]
fn a_program_scores_every_case_and_gate_scores_again_alike() {
    let t = project(SCORER);
    let out = t.run_with(&RUN);
    out.code(0);
    let run = out.run_dir();
    for id in ["greet-001", "greet-002", "math-001"] {
        assert!(run.passed(id, "py"), "{id}");
        let reason = run.score(id, "py")["reason"].as_str().unwrap().to_string();
        assert!(reason.starts_with(&format!("{id}: found")), "{reason}");
    }
    t.run_with(&["gate", &run.path.display().to_string()])
        .code(0)
        .stdout_has("PASS");
    assert!(t.path().join(GOLDEN_PATH).is_file());
}

#[test]
fn a_broken_program_fails_the_cases_with_its_stderr() {
    let t = project("import sys\nprint('model says no', file=sys.stderr)\nsys.exit(4)\n");
    let out = t.run_with(&RUN);
    out.code(1).stdout_has("exited with 4: model says no");
    let t = project("print('PASS')\n");
    t.run_with(&RUN).code(1).stdout_has("printed \"PASS\", not");
}
