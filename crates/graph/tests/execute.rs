//! The executor over real files: each node writes its output from its
//! inputs' outputs, as a build would.

use lock2build_graph::{execute, Graph, GraphError, Node, Output, Realiser, Recipe, Silent};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

fn node(id: &str, inputs: &[&str]) -> Node {
    Node {
        id: id.into(),
        name: id.into(),
        recipe: Recipe {
            kind: "concat".into(),
            params: Default::default(),
        },
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        toolchains: vec![],
        env: Default::default(),
        native: vec![],
        output: Output::Built,
    }
}

/// Writes `<dir>/<id>`: the node's id, then its inputs' contents.
struct Concat {
    dir: PathBuf,
    fail: Option<&'static str>,
    running: AtomicUsize,
    most: AtomicUsize,
    seen: Mutex<Vec<String>>,
}

impl Concat {
    fn new(dir: &Path) -> Concat {
        Concat {
            dir: dir.to_path_buf(),
            fail: None,
            running: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
            seen: Mutex::new(vec![]),
        }
    }
}

impl Realiser for Concat {
    fn existing(&self, node: &Node) -> Option<PathBuf> {
        let path = self.dir.join(&node.id);
        path.exists().then_some(path)
    }

    fn realise(&self, node: &Node, inputs: &BTreeMap<String, PathBuf>) -> Result<PathBuf, String> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(50));
        self.seen.lock().unwrap().push(node.id.clone());
        let result = if self.fail == Some(node.id.as_str()) {
            Err("the build failed (log: …)".to_string())
        } else {
            let mut text = node.id.clone();
            for input in &node.inputs {
                let path = inputs.get(input).ok_or(format!("no input {input}"))?;
                text.push('<');
                text.push_str(&std::fs::read_to_string(path).map_err(|e| e.to_string())?);
            }
            let out = self.dir.join(&node.id);
            std::fs::write(&out, text).map_err(|e| e.to_string())?;
            Ok(out)
        };
        self.running.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

fn diamond() -> Graph {
    let mut g = Graph::new("x86_64-linux-gnu");
    g.nodes = vec![
        node("a", &[]),
        node("b", &["a"]),
        node("c", &["a"]),
        node("d", &["b", "c"]),
        node("unrelated", &[]),
    ];
    g
}

#[test]
fn inputs_are_made_first_and_each_node_once() {
    let dir = tempfile::tempdir().unwrap();
    let r = Concat::new(dir.path());
    let done = execute(&diamond(), &["d"], 2, &r, &Silent).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("d")).unwrap(),
        "d<b<a<c<a"
    );
    assert_eq!(done.built.len(), 4, "{:?}", done.built);
    assert!(
        !dir.path().join("unrelated").exists(),
        "only what the goal needs"
    );
    assert_eq!(r.most.load(Ordering::SeqCst), 2, "b and c run side by side");
    // A second run finds every output and makes nothing.
    let again = Concat::new(dir.path());
    let done = execute(&diamond(), &["d"], 2, &again, &Silent).unwrap();
    assert!(done.built.is_empty());
    assert_eq!(done.outputs.len(), 4);
}

#[test]
fn an_existing_input_is_not_remade() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b"), "b-before").unwrap();
    let r = Concat::new(dir.path());
    execute(&diamond(), &["d"], 1, &r, &Silent).unwrap();
    assert_eq!(*r.seen.lock().unwrap(), ["a", "c", "d"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("d")).unwrap(),
        "d<b-before<c<a"
    );
}

/// A goal that exists needs nothing made, not even its missing inputs (an
/// app built before needs no sources, which may be gone from the store).
#[test]
fn the_inputs_of_an_existing_node_are_not_made() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d"), "d-before").unwrap();
    std::fs::write(dir.path().join("b"), "b-before").unwrap();
    let r = Concat::new(dir.path());
    let done = execute(&diamond(), &["d"], 1, &r, &Silent).unwrap();
    assert!(r.seen.lock().unwrap().is_empty(), "{:?}", r.seen);
    assert!(!dir.path().join("a").exists());
    // What exists is told, needed or not.
    assert_eq!(done.outputs.keys().collect::<Vec<_>>(), ["b", "d"]);
}

#[test]
fn a_failure_names_the_node_and_nothing_after_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Concat::new(dir.path());
    r.fail = Some("b");
    let err = execute(&diamond(), &[], 1, &r, &Silent).unwrap_err();
    assert!(
        matches!(&err, GraphError::Failed { node, .. } if node == "b"),
        "{err}"
    );
    assert!(err.to_string().contains("the build failed"));
    assert!(!r.seen.lock().unwrap().contains(&"d".to_string()));
    assert!(!dir.path().join("d").exists());
}

#[test]
fn an_unknown_goal_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = execute(&diamond(), &["nope"], 1, &Concat::new(dir.path()), &Silent).unwrap_err();
    assert!(
        err.to_string().contains("`nope` is not in the build graph"),
        "{err}"
    );
}

#[test]
fn the_missing_inputs_of_an_existing_node_are_not_made() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d"), "d-before").unwrap();
    std::fs::write(dir.path().join("c"), "c-before").unwrap();
    let r = Concat::new(dir.path());
    let done = execute(&diamond(), &["d"], 1, &r, &Silent).unwrap();
    assert!(done.built.is_empty(), "{:?}", done.built);
    assert!(!dir.path().join("a").exists() && !dir.path().join("b").exists());
    // A goal that exists beside one that does not: only the latter's
    // missing inputs are made.
    let mut g = diamond();
    g.nodes.push(node("e", &["c", "a"]));
    let done = execute(&g, &["d", "e"], 1, &r, &Silent).unwrap();
    assert_eq!(done.built, ["a", "e"]);
    assert!(!dir.path().join("b").exists());
}

#[test]
fn the_longest_chain_starts_first() {
    // `tool` comes after the wheels in graph order, but `built` and `app`
    // wait for it while only `app` waits for the wheels; then `built` and
    // the wheels are as far from the goal, and go in graph order.
    let mut g = Graph::new("x86_64-linux-gnu");
    g.nodes = vec![
        node("wheel1", &[]),
        node("wheel2", &[]),
        node("tool", &[]),
        node("built", &["tool"]),
        node("app", &["wheel1", "wheel2", "built"]),
    ];
    let dir = tempfile::tempdir().unwrap();
    let r = Concat::new(dir.path());
    execute(&g, &["app"], 1, &r, &Silent).unwrap();
    assert_eq!(
        *r.seen.lock().unwrap(),
        ["tool", "wheel1", "wheel2", "built", "app"]
    );
}
