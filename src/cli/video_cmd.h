// `sealite embed` / `sealite detect` on videos (issue 6). The image commands
// hand their argument list over when the input is a video file (.mp4 .mkv
// .mov .webm .avi ...) or a float32 .npy holding several frames (T x 3 x H x W
// or T x H x W x 3, T > 1).
#pragma once
#include <string>
#include <vector>

namespace sealite::cli {

// True when argv (the command's arguments, without the command name) names a
// video input: the first positional argument is a video file or a .npy with
// T > 1 frames.
bool args_name_video_input(const std::vector<std::string>& argv);

int embed_video_main(const std::vector<std::string>& argv);
int detect_video_main(const std::vector<std::string>& argv);

}  // namespace sealite::cli
