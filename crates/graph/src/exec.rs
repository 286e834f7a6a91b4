//! The executor: runs the nodes a goal needs, each once, inputs first, up
//! to `jobs` at a time.
//!
//! How a node is made is the [`Realiser`]'s business (the local store and
//! sandbox, or a test's); the executor only orders the work, skips what
//! exists, stops scheduling at the first failure and waits for what is
//! running, and tells an observer what starts and ends.
//!
//! Of the nodes ready at once, the one with the longest chain of nodes
//! still to make after it starts first (then graph order): a build
//! system's wheel before the app's own wheels, since a source build and the
//! environment wait for it and only the environment waits for those.

use crate::error::GraphError;
use crate::model::{Graph, Node};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Makes nodes' outputs.
pub trait Realiser: Sync {
    /// The node's output, if it is already made (no work).
    fn existing(&self, node: &Node) -> Option<PathBuf>;
    /// Makes the node's output from its inputs' outputs (by id), and says
    /// where it is; an error is a message a user can act on.
    fn realise(&self, node: &Node, inputs: &BTreeMap<String, PathBuf>) -> Result<PathBuf, String>;
}

/// What the executor tells while it runs.
pub trait Observer: Sync {
    /// `node` starts being made.
    fn started(&self, _node: &Node) {}
    /// `node` was made (or failed) in `took`.
    fn finished(&self, _node: &Node, _ok: bool, _took: Duration) {}
}

/// An observer that says nothing.
pub struct Silent;
impl Observer for Silent {}

/// What a run made.
#[derive(Debug, Default)]
pub struct Executed {
    /// Every needed node's output, by id.
    pub outputs: BTreeMap<String, PathBuf>,
    /// The nodes made by this run, in the order they finished.
    pub built: Vec<String>,
}

struct State {
    /// Ready nodes by (nodes after them, lowest index first).
    ready: BinaryHeap<(usize, Reverse<usize>)>,
    /// The longest chain of nodes to make after each node.
    after: BTreeMap<usize, usize>,
    waiting: BTreeMap<usize, usize>,
    running: usize,
    outputs: BTreeMap<String, PathBuf>,
    built: Vec<String>,
    failed: Option<GraphError>,
}

impl State {
    fn push_ready(&mut self, i: usize) {
        let after = self.after.get(&i).copied().unwrap_or(0);
        self.ready.push((after, Reverse(i)));
    }
}

/// Makes `goals` (node ids; every node when empty) and what they need.
pub fn execute(
    graph: &Graph,
    goals: &[&str],
    jobs: usize,
    realiser: &dyn Realiser,
    observer: &dyn Observer,
) -> Result<Executed, GraphError> {
    let index: BTreeMap<&str, usize> = graph
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let mut state = State {
        ready: BinaryHeap::new(),
        after: BTreeMap::new(),
        waiting: BTreeMap::new(),
        running: 0,
        outputs: BTreeMap::new(),
        built: Vec::new(),
        failed: None,
    };
    for &i in &closure(graph, &index, goals, |_| false)? {
        let node = &graph.nodes[i];
        if let Some(path) = realiser.existing(node) {
            state.outputs.insert(node.id.clone(), path);
        }
    }
    // What is made: the inputs of a node that exists are not needed (an
    // app already built needs no sources), though their outputs are told.
    let needed = closure(graph, &index, goals, |i| {
        state.outputs.contains_key(&graph.nodes[i].id)
    })?;
    let mut users: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut ready = Vec::new();
    for &i in &needed {
        let node = &graph.nodes[i];
        if state.outputs.contains_key(&node.id) {
            continue;
        }
        let missing: Vec<usize> = node
            .inputs
            .iter()
            .filter(|id| !state.outputs.contains_key(id.as_str()))
            .map(|id| index[id.as_str()])
            .collect();
        for &j in &missing {
            users.entry(j).or_default().push(i);
        }
        if missing.is_empty() {
            ready.push(i);
        } else {
            state.waiting.insert(i, missing.len());
        }
    }
    // A node's users come after it in a graph: backwards, their chains are
    // known before its own.
    for &i in needed.iter().rev() {
        let after = users.get(&i).into_iter().flatten();
        let longest = after
            .map(|u| state.after.get(u).map_or(1, |n| n + 1))
            .max()
            .unwrap_or(0);
        state.after.insert(i, longest);
    }
    for i in ready {
        state.push_ready(i);
    }
    let state = Mutex::new(state);
    let wake = Condvar::new();
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| worker(graph, &users, &state, &wake, realiser, observer));
        }
    });
    let state = state.into_inner().unwrap_or_else(|e| e.into_inner());
    match state.failed {
        Some(e) => Err(e),
        None => Ok(Executed {
            outputs: state.outputs,
            built: state.built,
        }),
    }
}

/// Takes ready nodes and makes them until nothing is left to do.
fn worker(
    graph: &Graph,
    users: &BTreeMap<usize, Vec<usize>>,
    state: &Mutex<State>,
    wake: &Condvar,
    realiser: &dyn Realiser,
    observer: &dyn Observer,
) {
    let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let mut s = lock();
        let i = loop {
            if s.failed.is_some() || (s.ready.is_empty() && s.running == 0) {
                wake.notify_all();
                return;
            }
            if let Some((_, Reverse(i))) = s.ready.pop() {
                break i;
            }
            s = wake.wait(s).unwrap_or_else(|e| e.into_inner());
        };
        s.running += 1;
        let node = &graph.nodes[i];
        let inputs: BTreeMap<String, PathBuf> = node
            .inputs
            .iter()
            .filter_map(|id| s.outputs.get(id).map(|p| (id.clone(), p.clone())))
            .collect();
        drop(s);
        observer.started(node);
        let start = Instant::now();
        let made = realiser.realise(node, &inputs);
        observer.finished(node, made.is_ok(), start.elapsed());
        let mut s = lock();
        s.running -= 1;
        match made {
            Ok(path) => {
                s.outputs.insert(node.id.clone(), path);
                s.built.push(node.id.clone());
                for &u in users.get(&i).into_iter().flatten() {
                    let left = s.waiting.get_mut(&u).map(|n| {
                        *n -= 1;
                        *n
                    });
                    if left == Some(0) {
                        s.waiting.remove(&u);
                        s.push_ready(u);
                    }
                }
            }
            Err(message) => {
                s.failed.get_or_insert(GraphError::Failed {
                    node: node.id.clone(),
                    message,
                });
            }
        }
        wake.notify_all();
    }
}

/// The indices of `goals` (every node when empty) and what they need, in
/// graph order: the inputs of a node that `exists` are not needed (an app
/// already built needs no sources).
fn closure(
    graph: &Graph,
    index: &BTreeMap<&str, usize>,
    goals: &[&str],
    mut exists: impl FnMut(usize) -> bool,
) -> Result<BTreeSet<usize>, GraphError> {
    let mut needed = BTreeSet::new();
    let mut todo = Vec::new();
    if goals.is_empty() {
        todo.extend(0..graph.nodes.len());
    }
    for goal in goals {
        todo.push(
            *index
                .get(goal)
                .ok_or_else(|| GraphError::UnknownNode(goal.to_string()))?,
        );
    }
    while let Some(i) = todo.pop() {
        if needed.insert(i) && !exists(i) {
            todo.extend(graph.nodes[i].inputs.iter().map(|id| index[id.as_str()]));
        }
    }
    Ok(needed)
}
