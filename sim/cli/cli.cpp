#include "sim/cli/cli.hpp"

#include "sim/cli/cli11.hpp"
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "sim/cli/common.hpp"
#include "sim/cli/module.hpp"
#include "sim/cli/print.hpp"
#include "sim/config/config.hpp"
#include "sim/experiment/compare.hpp"
#include "sim/experiment/decompose.hpp"
#include "sim/experiment/sweep.hpp"
#include "sim/experiment/sweep_sensitivity.hpp"
#include "sim/io/calibration.hpp"
#include "sim/io/checkpoint.hpp"
#include "sim/io/compare.hpp"
#include "sim/io/output.hpp"
#include "sim/io/sweep.hpp"
#include "sim/measures.hpp"
#include "sim/serve/builtin.hpp"
#include "sim/serve/live.hpp"
#include "sim/serve/server.hpp"
#include "sim/simulation.hpp"

// The commands of the command line. Each reads as parse (load and check the
// inputs, so nothing runs on bad input), call (the experiment, writing its
// file through sim/io) and print (sim/cli/print.hpp).
namespace schoolsim {

namespace {

using namespace cli;
namespace fs = std::filesystem;

const char* const kExitCodesHelp =
    "Exit codes: 0 success; 1 the run failed (nothing left at the output path); 2 bad scenario "
    "or command line (nothing written); 130 interrupted by Ctrl-C (nothing written).";

// Options for a run of replicates on `threads` threads that ticks `progress`
// every term and stops on Ctrl-C.
RunOptions run_options(std::int32_t threads, Progress& progress) {
  RunOptions opts;
  opts.threads = threads;
  opts.on_term = [&progress] { progress.tick(); };
  opts.cancel = &g_interrupted;
  return opts;
}

// `--posterior FILE`: the calibration posterior every replicate draws its
// parameters from, checked against this schoolsim and the scenarios it will
// change; nothing when no file was given. Prints what is wrong and returns
// false on bad input.
bool load_posterior_for(const char* command, const std::string& path, const Registry& registry,
                        const std::vector<const Scenario*>& scenarios, std::shared_ptr<const Posterior>& out) {
  if (path.empty()) return true;
  try {
    Posterior p = read_posterior(path);
    if (const std::string why = resolve_posterior(p, registry); !why.empty()) {
      std::cerr << "schoolsim " << command << ": " << path << ": " << why << "; nothing was run or written.\n";
      return false;
    }
    for (const Scenario* sc : scenarios) {
      const auto unused = unused_by(p, *sc);
      if (unused.size() == p.names.size()) {
        std::cerr << "schoolsim " << command << ": " << path << ": none of the posterior's parameters acts in scenario '"
                  << sc->name << "'; nothing was run or written.\n";
        return false;
      }
      for (const auto& n : unused) {
        std::cerr << "schoolsim " << command << ": note: the posterior's " << n << " does not act in scenario '"
                  << sc->name << "' (its mechanism is not in the pipeline)\n";
      }
    }
    out = std::make_shared<const Posterior>(std::move(p));
  } catch (const std::exception& e) {
    std::cerr << "schoolsim " << command << ": " << e.what() << "; nothing was run or written.\n";
    return false;
  }
  return true;
}

// ------------------------------------------------------------------ describe, validate

int cmd_describe(const Registry& registry, const std::vector<std::string>& only, bool markdown) {
  for (const auto& name : only) {
    if (name != "world" && name != "variables" && name != "measures" && !registry.find(name)) {
      std::cerr << "schoolsim describe: unknown mechanism '" << name << "'";
      auto names = registry.names();
      const std::string guess = nearest(name, names);
      if (!guess.empty()) std::cerr << "; did you mean '" << guess << "'?";
      std::cerr << "\nvalid names: world, variables, measures";
      for (const auto& n : names) std::cerr << ", " << n;
      std::cerr << '\n';
      return kExitBadInput;
    }
  }
  if (markdown) {
    std::cout << describe_markdown(registry, only);
  } else {
    print_describe(std::cout, registry, only);
  }
  return kExitOk;
}

int cmd_validate(const Registry& registry, const std::vector<std::string>& files, bool resolved, bool allow_large) {
  int status = kExitOk;
  for (const auto& file : files) {
    LoadResult r = load_scenario(file, registry);
    if (!r.scenario) {
      print_errors(r.errors);
      status = kExitBadInput;
      continue;
    }
    const std::string why = allow_large ? "" : too_large(*r.scenario, registry, 1, "results/x.h5");
    if (!why.empty()) {
      std::cerr << file << ": error: too large to run here: " << why << " (--allow-large skips this check)\n";
      status = kExitBadInput;
      continue;
    }
    if (resolved) {
      std::cout << "# " << file << " (resolved)\n" << to_yaml(*r.scenario, registry);
    } else {
      std::cout << file << ": ok (" << r.scenario->pipeline.size() << " mechanisms, " << r.scenario->years
                << " years, " << r.scenario->replicates << " replicates)\n";
    }
  }
  return status;
}

// ------------------------------------------------------------------ run

struct RunArgs {
  std::string scenario;
  std::string output;
  std::optional<std::uint64_t> seed;
  std::optional<std::int32_t> replicates;
  std::optional<std::int32_t> years;
  std::int32_t threads = 1;
  bool quiet = false;
  std::optional<std::int32_t> checkpoint_year;
  std::string checkpoint_file, restart_file;
  bool allow_large = false;
  std::vector<std::string> sets;  // --set NAME=VALUE
  std::string posterior;
  unsigned compression = kDefaultCompression;
};

// A run as its command line asks for it, checked; nothing has run or been written.
struct RunPlan {
  Scenario sc;
  std::string resolved;  // the resolved scenario, as /meta and checkpoints hold it
  std::shared_ptr<const Posterior> posterior;
  fs::path out, checkpoint;
  std::optional<Checkpoint> restart;
};

// `--restart FILE`: the checkpoint the run continues, which must come from the
// same resolved scenario; kExitOk (also without --restart) or kExitBadInput.
int load_restart(const RunArgs& args, RunPlan& plan) {
  if (args.restart_file.empty()) return kExitOk;
  try {
    plan.restart = load_checkpoint(args.restart_file);
  } catch (const std::exception& e) {
    std::cerr << "schoolsim run: " << e.what() << '\n';
    return kExitBadInput;
  }
  if (plan.restart->scenario == plan.resolved) return kExitOk;
  std::cerr << "schoolsim run: " << args.restart_file
            << " was made by a different scenario or seed; a restart continues the same run (to branch "
               "into another regime, use compare --from)\n";
  return kExitBadInput;
}

// Loads the scenario, applies the command line's changes and checks that the
// run can go ahead; kExitOk, or the exit code after saying what is wrong.
int plan_run(const Registry& registry, const RunArgs& args, RunPlan& plan) {
  LoadResult r = load_scenario(args.scenario, registry);
  if (!r.scenario) {
    print_errors(r.errors);
    return kExitBadInput;
  }
  Scenario& sc = plan.sc = std::move(*r.scenario);
  if (const auto bad = apply_overrides(sc, args.sets, registry, args.scenario); !bad.empty()) {
    print_errors(bad);
    return kExitBadInput;
  }
  if (sc.register_data && !args.quiet) std::cerr << sc.register_data->summary;  // what the register gave (docs/DATA.md)
  if (args.seed) sc.seed = *args.seed;
  if (args.replicates) sc.replicates = *args.replicates;
  if (args.years) {
    if (const std::string why = years_too_short(sc, *args.years, args.scenario); !why.empty()) {
      std::cerr << "schoolsim run: " << why << "; nothing was run or written.\n";
      return kExitBadInput;
    }
    sc.years = *args.years;
  }
  if (!load_posterior_for("run", args.posterior, registry, {&sc}, plan.posterior)) return kExitBadInput;
  if (plan.posterior && (args.checkpoint_year || !args.restart_file.empty())) {
    std::cerr << "schoolsim run: --posterior cannot be combined with checkpoints or restarts; nothing was run or "
                 "written.\n";
    return kExitBadInput;
  }
  plan.out = args.output.empty() ? fs::path("results") / (fs::path(args.scenario).stem().string() + ".h5")
                                 : fs::path(args.output);
  plan.checkpoint = !args.checkpoint_file.empty() ? fs::path(args.checkpoint_file)
                                                  : fs::path(plan.out).replace_extension(".ckpt");
  if (!args.allow_large) {
    if (const std::string why = too_large(sc, registry, args.threads, plan.out); !why.empty()) {
      std::cerr << "schoolsim run: " << args.scenario << " is too large to run here: " << why
                << ". Nothing was run or written; --allow-large runs it anyway.\n";
      return kExitBadInput;
    }
  }
  plan.resolved = to_yaml(sc, registry);
  if ((args.checkpoint_year || !args.restart_file.empty()) && sc.replicates != 1) {
    std::cerr << "schoolsim run: checkpoints hold one replicate; run with --replicates 1\n";
    return kExitBadInput;
  }
  if (args.checkpoint_year && *args.checkpoint_year >= sc.years) {
    std::cerr << "schoolsim run: --checkpoint-at " << *args.checkpoint_year << " is not before the end (year "
              << sc.years << ")\n";
    return kExitBadInput;
  }
  return load_restart(args, plan);
}

int cmd_run(const Registry& registry, const RunArgs& args) {
  RunPlan plan;
  if (const int bad = plan_run(registry, args, plan); bad != kExitOk) return bad;
  const Scenario& sc = plan.sc;
  const auto t0 = std::chrono::steady_clock::now();
  std::optional<OutputFile> file;
  RunMeta meta{sc.name, plan.resolved, sc.seed, sc.replicates, sc.years, SCHOOLSIM_VERSION};
  meta.compression = args.compression;
  if (!open_output("run", plan.out, meta, args.sets, file)) return kExitFailure;
  if (args.checkpoint_year) remove_stale_temporaries("run", plan.checkpoint);
  write_uncertainty(*file, uncertainty_text(plan.posterior), plan.posterior ? plan.posterior->source : "");
  Progress progress(static_cast<std::int64_t>(sc.terms()) * sc.replicates, progress_wanted(args.quiet));
  RunOptions opts = run_options(args.threads, progress);
  if (plan.posterior)
    opts.per_replicate = [&](std::int32_t rep, Scenario& one) { apply_posterior(*plan.posterior, sc.seed, rep, one); };
  // Uncompressed, each replicate's rows go to the file as they are recorded
  // (run_all: when replicates run one at a time), not held to the end.
  if (file->streams_rows() && !args.checkpoint_year && !plan.restart) opts.rows = &file->row_sink();
  if (args.checkpoint_year) {
    opts.checkpoint_term = *args.checkpoint_year * kTermsPerYear;
    opts.on_checkpoint = [&](const State& state, const Recording& so_far) {
      save_checkpoint(plan.checkpoint, Checkpoint{plan.resolved, 0, opts.checkpoint_term, state, so_far});
    };
  }
  RunSummary summary;
  summary.scenario = &sc;
  summary.scenario_file = args.scenario;
  summary.posterior = plan.posterior;
  const int status = produce("run", file, progress, plan.out, [&] {
    auto sink = [&](Recording&& rec) {
      file->write(rec);
      summary.add(rec);
    };
    if (plan.restart) {
      sink(continue_replicate(sc, registry, plan.restart->replicate, std::move(plan.restart->state),
                              plan.restart->terms_done, std::move(plan.restart->recording), opts));
    } else {
      run_all(sc, registry, opts, sink);
    }
  });
  if (status != kExitOk) return status;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  summary.output = plan.out;
  if (!args.quiet) print_run(std::cout, summary);
  return kExitOk;
}

// ------------------------------------------------------------------ compare, compare --decompose

struct CompareArgs {
  std::string a, b, output, from, posterior;
  std::optional<std::uint64_t> seed;
  std::optional<std::int32_t> years;
  std::vector<std::string> sets;  // --set NAME=VALUE, applied to both arms
  std::int32_t replicates = 20;
  std::int32_t threads = 1;
  bool quiet = false;
  bool decompose = false;         // compare --decompose
  std::int32_t permutations = 32;  // lever orders per replicate when sampled
};

// The two arms of a paired command, loaded with the command line's changes.
struct PairPlan {
  Scenario a, b;
  std::optional<Checkpoint> branch;  // --from
};

int plan_pair(const Registry& registry, const CompareArgs& args, PairPlan& plan) {
  LoadResult ra = load_scenario(args.a, registry), rb = load_scenario(args.b, registry);
  if (!ra.scenario || !rb.scenario) {
    std::vector<Diagnostic> all = ra.errors;
    all.insert(all.end(), rb.errors.begin(), rb.errors.end());
    print_errors(all);
    return kExitBadInput;
  }
  Scenario &a = plan.a = std::move(*ra.scenario), &b = plan.b = std::move(*rb.scenario);
  std::vector<Diagnostic> bad = apply_overrides(a, args.sets, registry, "A (" + args.a + ")");
  // A value wrong for both arms is listed once.
  for (const Diagnostic& d : apply_overrides(b, args.sets, registry, "B (" + args.b + ")"))
    if (std::none_of(bad.begin(), bad.end(), [&](const Diagnostic& e) { return e.str() == d.str(); })) bad.push_back(d);
  if (!bad.empty()) {
    print_errors(bad);
    return kExitBadInput;
  }
  if (args.years) {
    for (const auto& [sc, label] : {std::pair{&a, "A (" + args.a + ")"}, std::pair{&b, "B (" + args.b + ")"}}) {
      if (const std::string why = years_too_short(*sc, *args.years, label); !why.empty()) {
        std::cerr << "schoolsim compare: " << why << "; nothing was run or written.\n";
        return kExitBadInput;
      }
    }
    a.years = b.years = *args.years;
  }
  if (args.seed) a.seed = *args.seed;
  return kExitOk;
}

// `--from FILE`: the checkpoint both arms branch from; nothing without it.
// False (after saying why) when it cannot be read or is not before the end.
bool load_branch(const CompareArgs& args, PairPlan& plan) {
  if (args.from.empty()) return true;
  try {
    plan.branch = load_checkpoint(args.from);
  } catch (const std::exception& e) {
    std::cerr << "schoolsim compare: " << e.what() << '\n';
    return false;
  }
  if (plan.branch->terms_done < plan.a.terms()) return true;
  std::cerr << "schoolsim compare: " << args.from << " is after year " << plan.branch->terms_done / kTermsPerYear
            << "; the scenarios end at year " << plan.a.years << '\n';
  return false;
}

Arms arms_of(const PairPlan& plan, const Registry& registry) {
  return {plan.a.name, to_yaml(plan.a, registry), plan.b.name, to_yaml(plan.b, registry)};
}

fs::path paired_output(const CompareArgs& args, const char* prefix) {
  if (!args.output.empty()) return args.output;
  return fs::path("results") /
         (std::string(prefix) + "-" + fs::path(args.a).stem().string() + "-" + fs::path(args.b).stem().string() + ".h5");
}

// compare --decompose: B - A of every measure attributed to the levers that
// differ (sim/experiment/decompose.hpp, docs/EXPERIMENTS.md).
int cmd_decompose(const Registry& registry, const CompareArgs& args, PairPlan& p) {
  const LeverSet set = find_levers(p.a, p.b, registry);
  std::string why = set.error;
  if (why.empty() && set.levers.empty()) why = "the two scenarios do not differ in any lever, so there is nothing to attribute";
  if (!why.empty()) {
    std::cerr << "schoolsim compare --decompose: " << args.a << " and " << args.b << ": " << why
              << "; nothing was run or written.\n";
    return kExitBadInput;
  }
  if (!load_branch(args, p)) return kExitBadInput;
  for (const auto& l : set.levers) {
    if (p.branch && l.kind == LeverKind::world) {
      std::cerr << "schoolsim compare --decompose: the scenarios differ in " << l.name
                << ", but runs branched from a checkpoint (--from) share its world; nothing was run or written.\n";
      return kExitBadInput;
    }
  }
  const fs::path out = paired_output(args, "decompose");
  ShapleyOptions shapley;
  shapley.permutations = args.permutations;
  shapley.seed = p.a.seed;
  const Arms arms = arms_of(p, registry);
  std::optional<OutputFile> file;
  if (!open_output("compare", out, paired_meta("decompose", arms, p.a.seed, args.replicates, p.a.years, SCHOOLSIM_VERSION), {}, file))
    return kExitFailure;
  const std::int32_t terms = p.a.terms() - (p.branch ? p.branch->terms_done : 0);
  const auto runs = decomposition_runs(set.levers.size(), args.replicates, shapley);
  Progress progress(static_cast<std::int64_t>(runs) * terms, progress_wanted(args.quiet));
  const RunOptions opts = run_options(args.threads, progress);
  Decomposition d;
  const int status = produce("compare", file, progress, out, [&] {
    d = decompose(p.a, p.b, registry, args.replicates, opts, shapley, p.branch ? &p.branch->state : nullptr,
                  p.branch ? p.branch->terms_done : 0);
    write_decomposition(*file, arms, d);
  });
  if (status != kExitOk || args.quiet) return status;
  std::cout << "schoolsim compare --decompose: A = '" << p.a.name << "' (" << args.a << "), B = '" << p.b.name
            << "' (" << args.b << "), seed " << p.a.seed << ", " << p.a.years << " years\n\n"
            << decomposition_table(d) << "\nevery year's values, per replicate, are in " << out.string() << "\n";
  return kExitOk;
}

int cmd_compare(const Registry& registry, const CompareArgs& args) {
  PairPlan p;
  if (const int bad = plan_pair(registry, args, p); bad != kExitOk) return bad;
  if (args.decompose && !args.posterior.empty()) {
    std::cerr << "schoolsim compare: --decompose does not take --posterior yet (a posterior draw would reset the "
                 "levers it switches); nothing was run or written.\n";
    return kExitBadInput;
  }
  if (args.decompose) return cmd_decompose(registry, args, p);
  std::shared_ptr<const Posterior> posterior;
  if (!load_posterior_for("compare", args.posterior, registry, {&p.a, &p.b}, posterior)) return kExitBadInput;
  if (const std::string why = comparable(p.a, p.b); !why.empty()) {
    std::cerr << "schoolsim compare: " << args.a << " and " << args.b << ": " << why << "; nothing was run or written.\n";
    return kExitBadInput;
  }
  if (!load_branch(args, p)) return kExitBadInput;
  const fs::path out = paired_output(args, "compare");
  const Arms arms = arms_of(p, registry);
  std::optional<OutputFile> file;
  if (!open_output("compare", out, paired_meta("compare", arms, p.a.seed, args.replicates, p.a.years, SCHOOLSIM_VERSION), args.sets, file))
    return kExitFailure;
  Progress progress(2LL * p.a.terms() * args.replicates, progress_wanted(args.quiet));
  RunOptions opts = run_options(args.threads, progress);
  // Both arms of replicate r draw the same particle: the draw depends on A's seed and r only.
  if (posterior)
    opts.per_replicate = [&](std::int32_t rep, Scenario& one) { apply_posterior(*posterior, p.a.seed, rep, one); };
  Comparison c;
  const int status = produce("compare", file, progress, out, [&] {
    c = compare(p.a, p.b, registry, args.replicates, opts,
                p.branch ? Branch{&p.branch->state, p.branch->terms_done} : Branch{});
    write_comparison(*file, arms, c, uncertainty_text(posterior));
  });
  if (status != kExitOk || args.quiet) return status;
  print_comparison(std::cout, {&p.a, &p.b, args.a, args.b, posterior, out}, c);
  return kExitOk;
}

// ------------------------------------------------------------------ sweep

struct SweepArgs {
  std::string experiment, output, export_dir, posterior;
  std::int32_t threads = 1;
  bool quiet = false;
  std::vector<std::string> sets;  // --set NAME=VALUE, applied to the swept scenario
};

// --set on a sweep: changes the scenario every run starts from, but not a
// parameter the design itself varies.
std::vector<Diagnostic> sweep_overrides(Experiment& e, const std::vector<std::string>& sets, const Registry& registry) {
  std::vector<Diagnostic> bad;
  for (const auto& s : sets) {
    const std::string key = s.substr(0, s.find('='));
    for (const auto& p : e.parameters) {
      if (p.name == key) {
        bad.push_back({"--set " + s, 0, 0, key + ": swept by the experiment (" + e.source +
                                               ", parameters); --set can only fix a parameter the design does not vary"});
      }
    }
  }
  if (!bad.empty()) return bad;
  return apply_overrides(e.base, sets, registry, "the swept scenario (" + e.base.source + ")");
}

// `--posterior` on a sweep: the parameters the design sweeps keep their
// design values, so they are dropped from the draw. False on bad input.
bool attach_posterior(const Registry& registry, const SweepArgs& args, Experiment& e) {
  std::shared_ptr<const Posterior> posterior;
  if (!load_posterior_for("sweep", args.posterior, registry, {&e.base}, posterior)) return false;
  if (!posterior) return true;
  Posterior p = *posterior;
  for (const auto& sp : e.parameters) {
    const auto it = std::find(p.names.begin(), p.names.end(), sp.name);
    if (it == p.names.end()) continue;
    const auto j = static_cast<std::size_t>(it - p.names.begin());
    p.names.erase(it);
    p.world_param.erase(p.world_param.begin() + static_cast<std::ptrdiff_t>(j));
    for (auto& th : p.theta) th.erase(th.begin() + static_cast<std::ptrdiff_t>(j));
  }
  if (!p.names.empty()) e.posterior = std::make_shared<const Posterior>(std::move(p));
  return true;
}

// The parts folder, prepared by rank 0 for every rank; kExitOk or the exit code.
int open_parts(const Ranks& ranks, const fs::path& parts, const std::string& fingerprint) {
  int status = kExitOk;
  if (ranks.rank() == 0) {
    const PartsFolder f = prepare_parts(parts, fingerprint);
    if (f.status == PartsFolder::cannot_create) {
      std::cerr << "schoolsim sweep: cannot create " << parts.string() << ": " << f.error << '\n';
      status = kExitFailure;
    } else if (f.status == PartsFolder::other_experiment) {
      std::cerr << "schoolsim sweep: " << parts.string()
                << " holds runs of a different experiment or of another version of schoolsim; remove it or "
                   "choose another output (-o)\n";
      status = kExitBadInput;
    }
  }
  return ranks.max(status);  // every rank stops if rank 0 could not prepare the parts folder
}

// Under several MPI ranks: this rank's share of the runs, into the shared
// parts folder (rank 0 then gathers them as a single process would).
int run_share(const Experiment& e, const Design& d, const Registry& registry, const SweepArgs& args,
              const Ranks& ranks, const fs::path& parts) {
  SweepOptions share;
  share.threads = args.threads;
  share.parts = parts;
  share.cancel = &g_interrupted;
  share.rank = ranks.rank();
  share.ranks = ranks.size();
  catch_interrupts();
  int failed = 0;
  try {
    run_sweep(e, d, registry, share);
  } catch (const std::exception& ex) {
    std::cerr << "schoolsim sweep (rank " << ranks.rank() << "): " << ex.what() << '\n';
    failed = 1;
  }
  if (ranks.max(failed) == 0) return kExitOk;
  if (ranks.rank() == 0) {
    std::cerr << "schoolsim sweep: a rank failed; finished runs are kept in " << parts.string()
              << " and the same command resumes\n";
  }
  return kExitFailure;
}

// Every run not kept in the parts folder yet; kExitOk or the exit code.
int run_all_runs(const Experiment& e, const Design& d, const Registry& registry, const SweepArgs& args,
                 const fs::path& parts, const fs::path& out, SweepResults& res) {
  const std::int64_t tasks = d.values.rows() * e.replicates;
  Progress progress(tasks, progress_wanted(args.quiet));
  SweepOptions opts;
  opts.threads = args.threads;
  opts.parts = parts;
  opts.cancel = &g_interrupted;
  opts.on_task = [&] { progress.tick(); };
  catch_interrupts();
  try {
    res = run_sweep(e, d, registry, opts);
  } catch (const Interrupted&) {
    progress.finish();
    std::cerr << "schoolsim sweep: interrupted with " << kept_parts(parts) << " of " << tasks
              << " runs done and kept in " << parts.string() << "; run the same command again to resume. Nothing was "
              << "written to " << out.string() << '\n';
    return kExitInterrupted;
  } catch (const std::exception& ex) {
    progress.finish();
    std::cerr << "schoolsim sweep: " << ex.what() << "\nfinished runs are kept in " << parts.string() << '\n';
    return kExitFailure;
  }
  progress.finish();
  for (const auto& why : res.damaged)
    std::cerr << "schoolsim sweep: warning: a kept run was unusable and was run again: " << why << '\n';
  return kExitOk;
}

// The sweep's output file, with the sensitivity of its outputs; kExitOk, or
// kExitFailure after saying why (the finished runs stay in the parts folder).
int write_sweep_output(const Registry& registry, const SweepArgs& args, const Experiment& e, const Design& d,
                       const SweepResults& res, const fs::path& out, const fs::path& parts,
                       std::vector<OutputSensitivity>& sensitivity) {
  try {
    OutputFile file(out, sweep_meta(e, to_yaml(e.base, registry), SCHOOLSIM_VERSION));
    write_sets(file, args.sets);
    sensitivity = sweep_sensitivity(e, d, res);
    write_sweep(file, e, d, res, sensitivity, uncertainty_text(e.posterior));
    file.commit();
  } catch (const std::exception& ex) {
    std::cerr << "schoolsim sweep: " << ex.what() << "\nnothing was written to " << out.string()
              << "; finished runs are kept in " << parts.string() << '\n';
    return kExitFailure;
  }
  return kExitOk;
}

int cmd_sweep(const Registry& registry, const SweepArgs& args) {
  ExperimentResult r = load_experiment(args.experiment, registry);
  if (!r.experiment) {
    print_errors(r.errors);
    return kExitBadInput;
  }
  Experiment& e = *r.experiment;
  if (const auto bad = sweep_overrides(e, args.sets, registry); !bad.empty()) {
    print_errors(bad);
    return kExitBadInput;
  }
  if (!attach_posterior(registry, args, e)) return kExitBadInput;
  const Design d = make_design(e);
  if (!args.export_dir.empty()) {
    export_design(args.export_dir, e, d);
    if (!args.quiet) print_design_export(std::cout, e, d, args.export_dir);
    return kExitOk;
  }
  const Ranks ranks;  // under mpirun, each rank runs its share; rank 0 writes the file
  const fs::path out = args.output.empty() ? fs::path("results") / (e.name + ".h5") : fs::path(args.output);
  const fs::path parts = out.string() + ".parts";
  if (const int bad = open_parts(ranks, parts, fingerprint(e, registry)); bad != kExitOk) return bad;
  if (ranks.size() > 1) {
    if (const int status = run_share(e, d, registry, args, ranks, parts); status != kExitOk || ranks.rank() != 0)
      return status;
  }
  SweepResults res;
  if (const int status = run_all_runs(e, d, registry, args, parts, out, res); status != kExitOk) return status;
  std::vector<OutputSensitivity> sensitivity;
  if (const int status = write_sweep_output(registry, args, e, d, res, out, parts, sensitivity); status != kExitOk)
    return status;
  std::error_code ec;
  fs::remove_all(parts, ec);
  if (!args.quiet) print_sweep(std::cout, e, res, sensitivity, out);
  return kExitOk;
}

// ------------------------------------------------------------------ calibrate

struct CalibrateArgs {
  std::string file, output;
  std::vector<std::string> without;
  std::int32_t threads = 1;
  bool quiet = false;
};

// The calibration's output file, created by rank 0 (after removing stale
// temporaries) with Ctrl-C caught from then on; false on every rank when
// rank 0 could not create it.
bool open_calibration_output(const Ranks& ranks, const fs::path& out, const RunMeta& meta,
                             std::optional<OutputFile>& file) {
  catch_interrupts();
  if (ranks.rank() == 0) {
    remove_stale_temporaries("calibrate", out);
    try {
      file.emplace(out, meta);
    } catch (const std::exception& e) {
      std::cerr << "schoolsim calibrate: cannot create the output: " << e.what() << '\n';
    }
  }
  return ranks.max(ranks.rank() == 0 && !file ? 1 : 0) == 0;
}

// Loads the calibration and removes what --without names; kExitOk, or the
// exit code after saying what is wrong.
int plan_calibration(const Registry& registry, const CalibrateArgs& args, Calibration& c) {
  CalibrationLoad r = load_calibration(args.file, registry);
  if (!r.calibration) {
    print_errors(r.errors);
    return kExitBadInput;
  }
  c = std::move(*r.calibration);
  for (const auto& w : args.without) {
    if (const std::string why = remove_from_experiments(c, w); !why.empty()) {
      std::cerr << "schoolsim calibrate: --without " << w << ": " << why << "; nothing was run or written.\n";
      return kExitBadInput;
    }
  }
  return kExitOk;
}

// Runs (or resumes) the calibration, its progress kept in `opts.state`;
// kExitOk, or the exit code after saying why not.
int run_calibration(const Calibration& c, const Registry& registry, const CalibrateOptions& opts,
                    CalibrationStatus& status, const fs::path& out, CalibrationResult& res) {
  try {
    res = calibrate(c, registry, opts);
  } catch (const Interrupted&) {
    status.finish();
    std::cerr << "schoolsim calibrate: interrupted; the finished batches are kept in " << opts.state.string()
              << " and the same command resumes. Nothing was written to " << out.string() << '\n';
    return kExitInterrupted;
  } catch (const std::exception& e) {
    status.finish();
    std::cerr << "schoolsim calibrate: " << e.what() << "\nnothing was written to " << out.string() << '\n';
    return kExitFailure;
  }
  status.clear();
  return kExitOk;
}

int cmd_calibrate(const Registry& registry, const CalibrateArgs& args) {
  Calibration c;
  if (const int bad = plan_calibration(registry, args, c); bad != kExitOk) return bad;
  std::string suffix;
  for (const auto& w : c.without) suffix += "-without-" + w;
  const fs::path out = args.output.empty() ? fs::path("results") / (c.name + suffix + ".h5") : fs::path(args.output);
  const Ranks ranks;
  const std::string yaml = c.experiments.empty() ? "" : to_yaml(c.experiments.front().scenario, registry);
  std::optional<OutputFile> file;
  if (!open_calibration_output(ranks, out, calibration_meta(c, yaml, SCHOOLSIM_VERSION), file)) return kExitFailure;
  CalibrationStatus status(c, progress_wanted(args.quiet) && ranks.rank() == 0, !args.quiet && ranks.rank() == 0);
  CalibrateOptions opts;
  opts.threads = args.threads;
  opts.cancel = &g_interrupted;
  opts.state = out.string() + ".calib-state";
  opts.rank = ranks.rank();
  opts.ranks = ranks.size();
  opts.share = [&](std::vector<double>& v) { ranks.sum(v); };
  status.watch(opts);
  CalibrationResult res;
  if (const int failed = run_calibration(c, registry, opts, status, out, res); failed != kExitOk) return failed;
  if (ranks.rank() != 0) return kExitOk;
  const double seconds = status.seconds();
  try {
    write_calibration(*file, c, res);
    file->commit();
  } catch (const std::exception& e) {
    std::cerr << "schoolsim calibrate: " << e.what() << "\nnothing was written to " << out.string()
              << "; the calibration's progress is kept in " << opts.state.string() << '\n';
    return kExitFailure;
  }
  std::error_code ec;
  fs::remove(opts.state, ec);
  if (!args.quiet) print_calibration(std::cout, c, res, seconds, out);
  return kExitOk;
}

// ------------------------------------------------------------------ serve

struct ServeArgs {
  std::string scenario;  // empty: the built-in classroom scenario
  std::string host = "127.0.0.1";
  int port = 8765;
  std::int32_t max_sessions = 32;
  std::vector<std::string> allow_hosts;
};

int cmd_serve(const Registry& registry, const ServeArgs& args) {
  // The single world's scenario, and the comparison's arms (built in).
  live::ClassroomLoad r = live::load_classroom(args.scenario, registry);
  if (!r.scenarios) {
    print_errors(r.errors);
    return kExitBadInput;
  }
  const Scenario& sc = r.scenarios->single.scenario;
  const std::int32_t schools = live::world_schools(sc, registry);
  if (schools > serve::kMaxSchools) {
    std::cerr << "schoolsim: error: " << (args.scenario.empty() ? "the scenario" : args.scenario) << " has "
              << schools << " schools; teaching mode draws every school live and takes at most "
              << serve::kMaxSchools << " (scenarios/classroom.yaml has 36). Use `schoolsim run` for "
              << "larger systems, or set world.schools lower.\n";
    return kExitBadInput;
  }
  serve::Options options;
  options.host = args.host;
  options.port = args.port;
  options.max_sessions = args.max_sessions;
  options.allowed_hosts = args.allow_hosts;
  if (options.host != "127.0.0.1" && options.host != "localhost") {
    std::cerr << "schoolsim: warning: listening on " << options.host
              << ", so other machines on the network can open the page and run simulations here\n";
  }
  g_interrupted = false;
  catch_interrupts();
  std::signal(SIGPIPE, SIG_IGN);
  std::string error;
  const auto entry = reinterpret_cast<serve::ModuleEntry>(
      module_function(serve::kModuleFile, serve::kModuleEntry, error));
  if (entry == nullptr) {
    std::cerr << "schoolsim serve: " << error << '\n';
    return kExitFailure;
  }
  const std::function<void(const std::vector<std::string>&)> ready =
      [&](const std::vector<std::string>& urls) { print_serving(sc, urls); };
  serve::ModuleCall call;
  call.error = &error;
  call.scenarios = &*r.scenarios;
  call.registry = &registry;
  call.options = &options;
  call.stop = &g_interrupted;
  call.ready = &ready;
  const int code = entry(&call);
  if (code == serve::kModuleRefused) {
    std::cerr << "schoolsim serve: "
              << (error.empty() ? "its module is not from this build" : error) << '\n';
    return kExitFailure;
  }
  if (code == 0) std::fprintf(stderr, "schoolsim: stopped serving\n");
  return code == 0 ? 0 : kExitFailure;
}

}  // namespace

// The --threads option, the same for every command that runs replicates.
namespace {

void add_threads(CLI::App* command, std::int32_t& threads) {
  command->add_option("--threads", threads, "Threads to spread runs over (run: threads left over by the replicates run the loops "
                      "inside each one); results are identical for any count")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
}

// The --set option, the same for run, compare and sweep.
void add_set(CLI::App* command, std::vector<std::string>& sets, const std::string& what) {
  command->add_option("--set", sets,
                      "Change a parameter of " + what + ", as mechanism.parameter=value or world.parameter=value "
                      "(repeatable), checked as the scenario file's values are")
      ->type_name("NAME=VALUE")
      ->allow_extra_args(false);
}

}  // namespace

int run_cli(int argc, char** argv, const Registry& registry) {
  CLI::App app{
      "schoolsim: an agent-based simulation of school-to-school collaboration and competition.\n"
      "Schools' capacity and expectations evolve through collaboration ties, under market and "
      "policy regimes set by a YAML scenario; results are written to HDF5."};
  app.footer(kExitCodesHelp);
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("schoolsim ") + SCHOOLSIM_VERSION);

  RunArgs run_args;
  auto* run = app.add_subcommand("run", "Run a scenario and write its time series to an HDF5 file");
  run->add_option("scenario", run_args.scenario, "Scenario file (YAML)")->required()->check(CLI::ExistingFile);
  run->add_option("-o,--output", run_args.output,
                  "Output HDF5 file (default: results/<scenario file name>.h5)");
  run->add_option("--seed", run_args.seed, "Override the scenario's seed");
  run->add_option("--replicates", run_args.replicates, "Override the number of replicates")
      ->check(CLI::Range(1, 100000));
  run->add_option("--years", run_args.years, "Override the number of simulated years")
      ->check(CLI::Range(1, 200));
  add_threads(run, run_args.threads);
  add_set(run, run_args.sets, "the scenario");
  run->add_flag("--allow-large", run_args.allow_large,
                "Run even when the estimated memory or output size exceeds what this machine has");
  run->add_flag("-q,--quiet", run_args.quiet, "Print nothing but errors (no progress bar or summary)");
  run->add_option("--compression", run_args.compression,
                  "Deflate level of the per-school tables, 0 (none, fastest) to 9 (smallest); the default is "
                  "chosen by measurement (docs/PERFORMANCE.md)")
      ->check(CLI::Range(0, 9))
      ->capture_default_str();
  run->add_option("--checkpoint-at", run_args.checkpoint_year,
                  "Save a checkpoint after this many years (one replicate), then carry on")
      ->check(CLI::Range(1, 200));
  run->add_option("--checkpoint", run_args.checkpoint_file,
                  "Checkpoint file (default: the output file's name with .ckpt)");
  run->add_option("--posterior", run_args.posterior,
                  "Draw each replicate's parameters from this calibration's posterior (schoolsim calibrate's output)")
      ->check(CLI::ExistingFile);
  run->add_option("--restart", run_args.restart_file,
                  "Continue the same scenario from a checkpoint; the output equals an uninterrupted run's")
      ->check(CLI::ExistingFile);
  run->footer(kExitCodesHelp);

  CompareArgs compare_args;
  auto* cmp = app.add_subcommand(
      "compare",
      "Compare two regimes over paired replicates (same world and random numbers in both arms): "
      "the difference of every system measure over time, with 95% intervals and effect sizes");
  cmp->add_option("a", compare_args.a, "Scenario A (YAML)")->required()->check(CLI::ExistingFile);
  cmp->add_option("b", compare_args.b, "Scenario B (YAML)")->required()->check(CLI::ExistingFile);
  cmp->add_option("-o,--output", compare_args.output,
                  "Output HDF5 file (default: results/compare-<A>-<B>.h5)");
  cmp->add_option("--replicates", compare_args.replicates, "Paired replicates")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmp->add_option("--seed", compare_args.seed, "Seed for both arms (default: A's seed)");
  cmp->add_option("--years", compare_args.years, "Simulated years of both arms (default: the scenarios' own)")
      ->check(CLI::Range(1, 200));
  add_set(cmp, compare_args.sets, "both arms");
  add_threads(cmp, compare_args.threads);
  cmp->add_flag("-q,--quiet", compare_args.quiet, "Print nothing but errors");
  cmp->add_option("--posterior", compare_args.posterior,
                  "Draw each paired replicate's parameters (the same in both arms) from this calibration's "
                  "posterior, so the intervals include parameter uncertainty")
      ->check(CLI::ExistingFile);
  cmp->add_option("--from", compare_args.from,
                  "Branch both arms from this checkpoint's warmed-up world (schoolsim run --checkpoint-at)")
      ->check(CLI::ExistingFile);
  auto* decompose_flag = cmp->add_flag(
      "--decompose", compare_args.decompose,
      "Attribute each measure's B - A to the levers that differ (parameters, mechanisms added or removed): "
      "Shapley values over lever subsets, exact up to 6 levers, sampled above (docs/EXPERIMENTS.md)");
  cmp->add_option("--permutations", compare_args.permutations,
                  "With --decompose and more than 6 levers: random lever orders sampled per replicate")
      ->check(CLI::Range(1, 100000))
      ->needs(decompose_flag)
      ->capture_default_str();
  cmp->footer(kExitCodesHelp);

  SweepArgs sweep_args;
  auto* sweep = app.add_subcommand(
      "sweep",
      "Run a scenario over a design of parameter values (factorial, Latin hypercube, Morris, "
      "Saltelli) with replicates, on threads; resumable; with Morris or Sobol sensitivity indices");
  sweep->add_option("experiment", sweep_args.experiment, "Experiment file (YAML, docs/EXPERIMENTS.md)")
      ->required()
      ->check(CLI::ExistingFile);
  sweep->add_option("-o,--output", sweep_args.output, "Output HDF5 file (default: results/<experiment name>.h5)");
  add_threads(sweep, sweep_args.threads);
  add_set(sweep, sweep_args.sets, "the swept scenario (not a swept parameter)");
  sweep->add_option("--posterior", sweep_args.posterior,
                    "Draw the parameters each run does not sweep from this calibration's posterior, per replicate")
      ->check(CLI::ExistingFile);
  sweep->add_option("--export-design", sweep_args.export_dir,
                    "Write the design for SALib (problem.json, design.txt) to this folder and stop");
  sweep->add_flag("-q,--quiet", sweep_args.quiet, "Print nothing but errors");
  sweep->footer(kExitCodesHelp);

  CalibrateArgs calibrate_args;
  auto* calib = app.add_subcommand(
      "calibrate",
      "Fit calibrated parameters to published targets by approximate Bayesian computation (ABC-SMC): "
      "weighted posterior particles and each target's posterior-predictive interval (docs/EXPERIMENTS.md)");
  calib->add_option("calibration", calibrate_args.file, "Calibration file (YAML, docs/EXPERIMENTS.md)")
      ->required()
      ->check(CLI::ExistingFile);
  calib->add_option("-o,--output", calibrate_args.output,
                    "Output HDF5 file (default: results/<calibration name>[-without-<framework>].h5)");
  calib->add_option("--without", calibrate_args.without,
                    "Remove a framework (constructivism, social_capital, durkheim, social_movement, market) or a "
                    "mechanism from every experiment before calibrating (repeatable)");
  add_threads(calib, calibrate_args.threads);
  calib->add_flag("-q,--quiet", calibrate_args.quiet, "Print nothing but errors");
  calib->footer("Interrupted runs keep their finished batches beside the output (<output>.calib-state); the same "
                "command resumes. Results are identical for any thread or MPI rank count.\n" +
                std::string(kExitCodesHelp));

  std::vector<std::string> validate_files;
  bool resolved = false;
  auto* validate = app.add_subcommand(
      "validate", "Check scenario files and list every problem as file:line:column");
  validate->add_option("scenarios", validate_files, "Scenario files (YAML)")->required();
  validate->add_flag("--resolved", resolved,
                     "Print each valid scenario with every default filled in");
  bool validate_allow_large = false;
  validate->add_flag("--allow-large", validate_allow_large,
                     "Accept scenarios whose estimated memory or output size exceeds this machine's");
  validate->footer(kExitCodesHelp);

  std::vector<std::string> describe_only;
  bool markdown = false;
  auto* describe = app.add_subcommand(
      "describe",
      "List the world generator and every mechanism with its parameters, defaults, units, "
      "meaning and source; then the school variables and system measures");
  describe->add_option("names", describe_only,
                       "Only these mechanisms ('world' for the world generator, 'variables' for "
                       "the school variables, 'measures' for the system measures)");
  describe->add_flag("--markdown", markdown, "Print Markdown tables (as in docs/ODD.md)");

  ServeArgs serve_args;
  auto* serve_cmd = app.add_subcommand(
      "serve",
      "Teaching mode: run a small school system live in the browser, with the levers on sliders "
      "and switches (docs/TEACHING.md)");
  serve_cmd->add_option("scenario", serve_args.scenario,
                        "Scenario file (YAML; default: the classroom scenario, 36 schools)")
      ->check(CLI::ExistingFile);
  serve_cmd->add_option("--port", serve_args.port, "Port to listen on (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  serve_cmd->add_option("--host", serve_args.host,
                        "Address to listen on; the default lets only this computer in")
      ->capture_default_str();
  serve_cmd->add_option("--allow-host", serve_args.allow_hosts,
                        "A further host name the page may be opened at (repeatable); requests naming any "
                        "other host are refused (docs/SECURITY.md)");
  serve_cmd->add_option("--max-sessions", serve_args.max_sessions,
                        "Browser tabs that may run at once, each with its own simulation")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  serve_cmd->footer("Stop with Ctrl-C. Exit codes: 0 stopped cleanly; 1 cannot listen on the port; "
                    "2 bad scenario or command line.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  }

  try {
    if (*run) return cmd_run(registry, run_args);
    if (*cmp) return cmd_compare(registry, compare_args);
    if (*sweep) return cmd_sweep(registry, sweep_args);
    if (*calib) return cmd_calibrate(registry, calibrate_args);
    if (*validate) return cmd_validate(registry, validate_files, resolved, validate_allow_large);
    if (*describe) return cmd_describe(registry, describe_only, markdown);
    if (*serve_cmd) return cmd_serve(registry, serve_args);
  } catch (const std::exception& e) {
    std::cerr << "schoolsim: " << e.what() << '\n';
    return kExitFailure;
  }
  return kExitBadInput;
}

}  // namespace schoolsim
