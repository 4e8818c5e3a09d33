//! Phase 2 and the entry point: [`load`] parses a file (`parse`), checks the stage graph and
//! plugin configs, and builds the [`Pipeline`].
//!
//! The graph checks: ids unique across sources, processors and sinks; every input names a
//! stage that is not a sink; no cycles; every source and processor feeds something. A processor
//! whose inputs never lead back to a source cannot exist once those hold (every processor has an
//! input, inputs are known non-sinks, and there is no cycle, so following inputs ends at a
//! source); it is still checked, as a guard, when the other graph checks pass.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use toml::de::DeTable;

use crate::checker::{PluginChecker, StageSpec};
use crate::diagnostic::{Diagnostic, Diagnostics, closest};
use crate::id::{OrgId, PipelineName, StageId};
use crate::parse::{self, RawSource, RawStage, Span};
use crate::pipeline::{Pipeline, Source, SourceKind, Stage, StageKind};
use crate::plugin_config;
use crate::source::SourceFile;

/// Loads one pipeline file: parses it strictly, checks the stage graph, has `checker` validate
/// each plugin stage's `config`, and returns the compiled pipeline, or every problem found.
///
/// The pipeline's name is `file`'s stem. Syntax errors stop the load before the schema is
/// checked (after a syntax error the document's shape is a guess); otherwise all problems of all
/// phases are reported together.
pub fn load(
    org: &OrgId,
    file: &SourceFile,
    checker: &dyn PluginChecker,
) -> Result<Pipeline, Diagnostics> {
    let mut diagnostics = Vec::new();
    let name = match file.pipeline_name() {
        Ok(name) => Some(name),
        Err(err) => {
            diagnostics.push(Diagnostic::whole_file(file, err.to_string()));
            None
        }
    };
    // Only the first syntax error: recovery after one (an unclosed `[`, a missing quote) makes
    // up follow-on errors that would bury the real one.
    let doc = match DeTable::parse(&file.text) {
        Ok(doc) => doc,
        Err(err) => {
            let end = file.text.len();
            let span = err.span().unwrap_or(end..end);
            let message = format!("invalid TOML: {}", err.message());
            diagnostics.push(Diagnostic::new(file, span, message));
            return Err(finish(diagnostics));
        }
    };
    let stages = parse::stages(file, doc.get_ref(), &mut diagnostics);
    let order = Graph::check(file, &stages, &mut diagnostics);
    check_plugins(file, &stages, checker, &mut diagnostics);
    match (name, diagnostics.is_empty()) {
        (Some(name), true) => Ok(build(org, name, file, &stages, &order)),
        _ => Err(finish(diagnostics)),
    }
}

fn finish(diagnostics: Vec<Diagnostic>) -> Diagnostics {
    let mut diagnostics = Diagnostics::from(diagnostics);
    diagnostics.sort();
    diagnostics
}

/// The 1-based line of byte `offset` in `file`.
fn line_of(file: &SourceFile, offset: usize) -> usize {
    let offset = offset.min(file.text.len());
    file.text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The stage graph: stages by index (file order), edges from a stage to the stages it feeds.
struct Graph<'s, 'd, 'i> {
    stages: &'s [RawStage<'d, 'i>],
    /// `feeds[i]`: the stages listing stage `i` in their inputs.
    feeds: Vec<Vec<usize>>,
    /// For each edge `(from, to)`, the span of `from` in the inputs of `to`.
    edge_spans: HashMap<(usize, usize), Span>,
}

impl<'s, 'd, 'i> Graph<'s, 'd, 'i> {
    /// Runs every graph check, pushing a diagnostic per problem, and returns the stage indexes in
    /// topological order (meaningful only if nothing was reported).
    fn check(
        file: &SourceFile,
        stages: &'s [RawStage<'d, 'i>],
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Vec<usize> {
        let mut graph = Graph {
            stages,
            feeds: vec![Vec::new(); stages.len()],
            edge_spans: HashMap::new(),
        };
        if stages.is_empty() {
            // With other problems (a misspelt `[source.x]`), this is their consequence.
            if !diagnostics.is_empty() {
                return Vec::new();
            }
            diagnostics.push(
                Diagnostic::whole_file(file, "pipeline has no stages").with_help(
                    "add a `[sources.<id>]` table and a `[sinks.<id>]` table with its id in \
                     `inputs`",
                ),
            );
            return Vec::new();
        }

        // Ids: the first definition wins, later ones are duplicates.
        let mut first: HashMap<&str, usize> = HashMap::new();
        let mut duplicates = BTreeSet::new();
        for (index, stage) in stages.iter().enumerate() {
            match first.get(stage.id.as_str()) {
                Some(&original) => {
                    let original = &stages[original];
                    let line = line_of(file, original.id_span.start);
                    let message = format!(
                        "duplicate stage id `{}`: already used by the {} on line {line}",
                        stage.id, original.kind
                    );
                    diagnostics.push(Diagnostic::new(file, stage.id_span.clone(), message));
                    duplicates.insert(index);
                }
                None => {
                    first.insert(&stage.id, index);
                }
            }
        }

        // Inputs become edges; ids a typo probably meant are not reported as feeding nothing.
        let mut meant = BTreeSet::new();
        for (to, stage) in stages.iter().enumerate() {
            for (input, span) in &stage.inputs {
                match first.get(input.as_str()) {
                    None => {
                        let message = format!("unknown input `{input}` for stage `{}`", stage.id);
                        let candidates = stages
                            .iter()
                            .filter(|s| s.kind != StageKind::Sink)
                            .map(|s| s.id.as_str());
                        let mut diagnostic = Diagnostic::new(file, span.clone(), message);
                        if let Some(close) = closest(input, candidates) {
                            diagnostic = diagnostic.with_help(format!("did you mean `{close}`?"));
                            meant.insert(close);
                        }
                        diagnostics.push(diagnostic);
                    }
                    Some(&from) if stages[from].kind == StageKind::Sink => {
                        let message = format!(
                            "input `{input}` of stage `{}` is a sink, and a sink cannot feed \
                             anything",
                            stage.id
                        );
                        diagnostics.push(Diagnostic::new(file, span.clone(), message));
                    }
                    Some(&from) => {
                        graph.feeds[from].push(to);
                        graph.edge_spans.insert((from, to), span.clone());
                    }
                }
            }
        }

        for cycle in graph.cycles() {
            // Report at the input that closes the cycle: in the first stage's `inputs`, the
            // entry naming the last stage before it.
            let start = cycle[0];
            let last = cycle[cycle.len() - 2];
            let span = graph.edge_spans[&(last, start)].clone();
            let path: Vec<&str> = cycle.iter().map(|&i| stages[i].id.as_str()).collect();
            let message = format!("stage inputs form a cycle: {}", path.join(" -> "));
            diagnostics.push(Diagnostic::new(file, span, message));
        }

        for (index, stage) in stages.iter().enumerate() {
            let feeds_nothing = stage.kind != StageKind::Sink
                && graph.feeds[index].is_empty()
                && !duplicates.contains(&index)
                && !meant.contains(stage.id.as_str());
            if feeds_nothing {
                let message = format!("stage `{}` feeds nothing", stage.id);
                let help = format!(
                    "list `{}` in the `inputs` of a processor or sink, or remove it",
                    stage.id
                );
                diagnostics
                    .push(Diagnostic::new(file, stage.span.clone(), message).with_help(help));
            }
        }

        // Only as a guard: with any problem reported (in phase 1 too, such as missing inputs),
        // unfed stages are its consequence, not news.
        if diagnostics.is_empty() {
            for index in graph.unfed() {
                let message = format!(
                    "stage `{}` is not fed by any source: its inputs never lead to a source",
                    stages[index].id
                );
                diagnostics.push(Diagnostic::new(file, stages[index].span.clone(), message));
            }
        }
        graph.topological_order()
    }

    /// One cycle per strongly connected component that has one, each as a path of stage indexes
    /// starting and ending at its earliest stage (`[a, b, a]`), shortest first-found.
    fn cycles(&self) -> Vec<Vec<usize>> {
        let mut cycles = Vec::new();
        for component in self.components() {
            let start = component[0];
            let cyclic = component.len() > 1 || self.feeds[start].contains(&start);
            if !cyclic {
                continue;
            }
            // Breadth-first inside the component finds the shortest way back to `start`.
            let members: BTreeSet<usize> = component.iter().copied().collect();
            let mut came_from: BTreeMap<usize, usize> = BTreeMap::new();
            let mut queue = VecDeque::from([start]);
            'search: while let Some(node) = queue.pop_front() {
                for &next in &self.feeds[node] {
                    if !members.contains(&next) {
                        continue;
                    }
                    if next == start {
                        let mut path = vec![node];
                        let mut at = node;
                        while at != start {
                            at = came_from[&at];
                            path.push(at);
                        }
                        path.reverse();
                        path.push(start);
                        cycles.push(path);
                        break 'search;
                    }
                    if next != start && !came_from.contains_key(&next) {
                        came_from.insert(next, node);
                        queue.push_back(next);
                    }
                }
            }
        }
        cycles.sort();
        cycles
    }

    /// Strongly connected components (Tarjan), each sorted, so its first element is the stage
    /// declared first.
    fn components(&self) -> Vec<Vec<usize>> {
        struct Tarjan<'g> {
            feeds: &'g [Vec<usize>],
            index: Vec<Option<usize>>,
            low: Vec<usize>,
            on_stack: Vec<bool>,
            stack: Vec<usize>,
            next: usize,
            components: Vec<Vec<usize>>,
        }
        impl Tarjan<'_> {
            fn visit(&mut self, node: usize) {
                self.index[node] = Some(self.next);
                self.low[node] = self.next;
                self.next += 1;
                self.stack.push(node);
                self.on_stack[node] = true;
                for &next in &self.feeds[node] {
                    match self.index[next] {
                        None => {
                            self.visit(next);
                            self.low[node] = self.low[node].min(self.low[next]);
                        }
                        Some(index) if self.on_stack[next] => {
                            self.low[node] = self.low[node].min(index);
                        }
                        Some(_) => {}
                    }
                }
                if Some(self.low[node]) == self.index[node] {
                    let mut component = Vec::new();
                    while let Some(member) = self.stack.pop() {
                        self.on_stack[member] = false;
                        component.push(member);
                        if member == node {
                            break;
                        }
                    }
                    component.sort_unstable();
                    self.components.push(component);
                }
            }
        }
        let count = self.feeds.len();
        let mut tarjan = Tarjan {
            feeds: &self.feeds,
            index: vec![None; count],
            low: vec![0; count],
            on_stack: vec![false; count],
            stack: Vec::new(),
            next: 0,
            components: Vec::new(),
        };
        for node in 0..count {
            if tarjan.index[node].is_none() {
                tarjan.visit(node);
            }
        }
        tarjan.components
    }

    /// Processors and sinks not reachable from any source.
    fn unfed(&self) -> Vec<usize> {
        let mut reached = vec![false; self.stages.len()];
        let mut queue: VecDeque<usize> = (0..self.stages.len())
            .filter(|&i| self.stages[i].kind == StageKind::Source)
            .collect();
        while let Some(node) = queue.pop_front() {
            if std::mem::replace(&mut reached[node], true) {
                continue;
            }
            queue.extend(&self.feeds[node]);
        }
        (0..self.stages.len()).filter(|&i| !reached[i]).collect()
    }

    /// Kahn's algorithm, always taking the earliest-declared ready stage, so that the order is
    /// stable and follows the file where the graph allows. Stages in cycles are left out.
    fn topological_order(&self) -> Vec<usize> {
        let mut pending = vec![0usize; self.stages.len()];
        for targets in &self.feeds {
            for &to in targets {
                pending[to] += 1;
            }
        }
        let mut ready: BTreeSet<usize> = (0..self.stages.len())
            .filter(|&i| pending[i] == 0)
            .collect();
        let mut order = Vec::with_capacity(self.stages.len());
        while let Some(node) = ready.pop_first() {
            order.push(node);
            for &to in &self.feeds[node] {
                pending[to] -= 1;
                if pending[to] == 0 {
                    ready.insert(to);
                }
            }
        }
        order
    }
}

/// Hands every plugin stage whose plugin reference and config parsed to `checker`, and maps each
/// problem to the offending key in `config`.
fn check_plugins(
    file: &SourceFile,
    stages: &[RawStage<'_, '_>],
    checker: &dyn PluginChecker,
    diagnostics: &mut Vec<Diagnostic>,
) {
    for stage in stages {
        let (Some(id), Some(plugin), Some(config)) =
            (&stage.valid_id, &stage.plugin, &stage.config_json)
        else {
            continue;
        };
        let spec = StageSpec {
            id,
            kind: stage.kind,
            plugin,
            config,
            grants: &stage.grants,
        };
        for problem in checker.check(&spec) {
            let span = match stage.config {
                Some(value) => {
                    plugin_config::resolve(value, &problem.path).unwrap_or_else(|| value.span())
                }
                None => stage.span.clone(),
            };
            let place = if problem.path.is_empty() {
                "`config`".to_owned()
            } else {
                format!("`config.{}`", problem.path)
            };
            let message = format!(
                "invalid {place} for {} `{}`: {}",
                stage.kind, stage.id, problem.message
            );
            diagnostics.push(Diagnostic::new(file, span, message));
        }
    }
}

/// Builds the pipeline from stages that passed every check.
fn build(
    org: &OrgId,
    name: PipelineName,
    file: &SourceFile,
    stages: &[RawStage<'_, '_>],
    order: &[usize],
) -> Pipeline {
    const CHECKED: &str = "checked in phase 1 and no diagnostic was reported";
    let mut pipeline = Pipeline {
        org: org.clone(),
        name,
        file: file.path.clone(),
        sources: Vec::new(),
        processors: Vec::new(),
        sinks: Vec::new(),
    };
    let id = |stage: &RawStage<'_, '_>| stage.valid_id.clone().expect(CHECKED);
    let mut sinks = Vec::new();
    for &index in order {
        let stage = &stages[index];
        let config = || stage.config_json.clone().expect(CHECKED);
        let plugin = || stage.plugin.clone().expect(CHECKED);
        match stage.kind {
            StageKind::Source => {
                let kind = match stage.source.as_ref().expect(CHECKED) {
                    RawSource::Events(kinds) => SourceKind::Events {
                        kinds: kinds.clone(),
                    },
                    RawSource::Schedule(interval_ms) => SourceKind::Schedule {
                        interval_ms: *interval_ms,
                    },
                    RawSource::Plugin => SourceKind::Plugin {
                        plugin: plugin(),
                        config: config(),
                        grants: stage.grants.clone(),
                        limits: stage.limits,
                        poll_interval_ms: stage.poll_interval_ms,
                    },
                };
                pipeline.sources.push(Source {
                    id: id(stage),
                    kind,
                });
            }
            StageKind::Processor | StageKind::Sink => {
                let compiled = Stage {
                    id: id(stage),
                    plugin: plugin(),
                    config: config(),
                    grants: stage.grants.clone(),
                    limits: stage.limits,
                    inputs: stage
                        .inputs
                        .iter()
                        .map(|(input, _)| input.parse::<StageId>().expect(CHECKED))
                        .collect(),
                    batch_max_events: stage.batch_max_events,
                    retry: (stage.kind == StageKind::Sink).then_some(stage.retry),
                };
                if stage.kind == StageKind::Processor {
                    pipeline.processors.push(compiled);
                } else {
                    sinks.push((index, compiled));
                }
            }
        }
    }
    // Nothing depends on a sink, so file order is a topological order for them.
    sinks.sort_by_key(|(index, _)| *index);
    pipeline.sinks = sinks.into_iter().map(|(_, sink)| sink).collect();
    pipeline
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::checker::NoPluginCheck;

    fn file(text: &str) -> SourceFile {
        SourceFile {
            path: PathBuf::from("pipelines/default/p.toml"),
            text: text.to_owned(),
        }
    }

    fn messages(text: &str) -> Vec<String> {
        let org = "default".parse().unwrap();
        match load(&org, &file(text), &NoPluginCheck) {
            Ok(_) => Vec::new(),
            Err(diagnostics) => diagnostics.into_iter().map(|d| d.message).collect(),
        }
    }

    const SOURCE: &str = "[sources.src]\ntype = \"schedule\"\ninterval_ms = 100\n";

    fn processor(id: &str, inputs: &str) -> String {
        format!("[processors.{id}]\nplugin = \"p\"\ninputs = {inputs}\n")
    }

    fn sink(id: &str, inputs: &str) -> String {
        format!("[sinks.{id}]\nplugin = \"s\"\ninputs = {inputs}\n")
    }

    #[test]
    fn orders_stages_topologically_and_stably() {
        let text = [
            SOURCE,
            &sink("out", "[\"c\", \"b\"]"),
            &processor("c", "[\"b\"]"),
            &processor("a", "[\"src\"]"),
            &processor("b", "[\"a\"]"),
            &sink("early", "[\"src\"]"),
        ]
        .concat();
        let org = "default".parse().unwrap();
        let pipeline = load(&org, &file(&text), &NoPluginCheck).unwrap();
        let ids = |stages: &[Stage]| stages.iter().map(|s| s.id.to_string()).collect::<Vec<_>>();
        assert_eq!(ids(&pipeline.processors), ["a", "b", "c"]);
        assert_eq!(ids(&pipeline.sinks), ["out", "early"]);
        assert_eq!(pipeline.name.as_str(), "p");
        assert_eq!(pipeline.sinks[0].retry, Some(Default::default()));
        assert_eq!(pipeline.processors[0].retry, None);
    }

    #[test]
    fn finds_cycles_with_their_path() {
        let text = [
            SOURCE,
            &processor("a", "[\"src\", \"c\"]"),
            &processor("b", "[\"a\"]"),
            &processor("c", "[\"b\"]"),
            &processor("selfish", "[\"selfish\"]"),
            &sink("out", "[\"c\", \"selfish\"]"),
        ]
        .concat();
        assert_eq!(
            messages(&text),
            [
                "stage inputs form a cycle: a -> b -> c -> a",
                "stage inputs form a cycle: selfish -> selfish",
            ]
        );
    }

    #[test]
    fn reports_graph_problems_together() {
        let text = [
            SOURCE,
            "[sources.idle]\ntype = \"events\"\nkinds = [\"*\"]\n",
            &processor("semver", "[\"src\"]"),
            &sink("out", "[\"semvr\"]"),
            &sink("tail", "[\"out\"]"),
            &sink("src", "[\"src\"]"),
        ]
        .concat();
        assert_eq!(
            messages(&text),
            [
                "stage `idle` feeds nothing",
                "unknown input `semvr` for stage `out`",
                "input `out` of stage `tail` is a sink, and a sink cannot feed anything",
                "duplicate stage id `src`: already used by the source on line 1",
            ]
        );
    }

    #[test]
    fn empty_and_misnamed_files_are_reported() {
        assert_eq!(messages("# nothing yet\n"), ["pipeline has no stages"]);
        let org = "default".parse().unwrap();
        let misnamed = SourceFile {
            path: PathBuf::from("pipelines/default/Bad Name.toml"),
            text: [SOURCE, &sink("out", "[\"src\"]")].concat(),
        };
        let err = load(&org, &misnamed, &NoPluginCheck).unwrap_err();
        assert_eq!(
            err.iter().map(|d| d.message.as_str()).collect::<Vec<_>>(),
            ["invalid pipeline name `Bad Name`: must start with a lowercase letter or a digit"]
        );
    }

    #[test]
    fn plugin_paths_resolve_against_the_file() {
        let text = [
            "[sources.gh]\npath = \"../plugins/gh.wasm\"\n",
            &sink("out", "[\"gh\"]"),
        ]
        .concat();
        let org = "default".parse().unwrap();
        let pipeline = load(&org, &file(&text), &NoPluginCheck).unwrap();
        let SourceKind::Plugin { plugin, .. } = &pipeline.sources[0].kind else {
            panic!("not a plugin source");
        };
        assert_eq!(
            plugin,
            &crate::PluginRef::Path(PathBuf::from("pipelines/default/../plugins/gh.wasm"))
        );
    }
}
