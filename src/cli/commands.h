// The mmdg program's subcommands. Each add_* function declares one subcommand (its options,
// defaults and help) on the CLI11 app and binds the code that runs it.
#pragma once

namespace CLI {
class App;
}

namespace mmdg::cli {

void add_version_command(CLI::App& app);
void add_weights_command(CLI::App& app);
void add_model_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_launch_command(CLI::App& app);  // several processes of one run (torchrun's environment)
void add_eval_command(CLI::App& app);
void add_predict_command(CLI::App& app);  // needs the OpenCV data layer
void add_synth_command(CLI::App& app);    // needs the OpenCV data layer
void add_plot_command(CLI::App& app);     // needs OpenCV
void add_pretrain_command(CLI::App& app);  // needs OpenCV
void add_protocol_command(CLI::App& app);
void add_ablate_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_demo_command(CLI::App& app);      // needs OpenCV
void add_stress_command(CLI::App& app);    // needs OpenCV
void add_serve_command(CLI::App& app);     // needs OpenCV and cpp-httplib
void add_data_command(CLI::App& app);      // convert-wmca needs OpenCV and libhdf5

}  // namespace mmdg::cli
