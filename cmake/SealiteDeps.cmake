# Third-party dependencies: Debian packages + one TensorFlow Lite C library.
find_package(Threads REQUIRED)
find_package(FlatBuffers CONFIG REQUIRED)
find_program(FLATC_EXECUTABLE flatc REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)
find_package(PNG REQUIRED)
find_package(JPEG REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(FFMPEG IMPORTED_TARGET libavformat libavcodec libswscale libavutil)

# --- TensorFlow Lite C library -------------------------------------------
set(_tfl_root "${SEALITE_TFLITE_ROOT}")
find_path(SEALITE_TFLITE_INCLUDE_DIR tensorflow/lite/c/c_api.h
  PATHS "${_tfl_root}/include" "${_tfl_root}/cc_deps/include" "${_tfl_root}"
  NO_DEFAULT_PATH)
find_library(SEALITE_TFLITE_LIBRARY NAMES tensorflowlite_c LiteRtRuntimeCApi
  PATHS "${_tfl_root}/lib" "${_tfl_root}/cc_deps/linux_amd64" "${_tfl_root}"
  NO_DEFAULT_PATH)
if(NOT SEALITE_TFLITE_INCLUDE_DIR OR NOT SEALITE_TFLITE_LIBRARY)
  message(FATAL_ERROR
    "TensorFlow Lite C library not found under SEALITE_TFLITE_ROOT=${_tfl_root}.\n"
    "Run scripts/setup.sh (fetches tfjs-tflite-node@0.0.2 from npm), or pass "
    "-DSEALITE_TFLITE_ROOT=/path/with/include/and/lib.")
endif()
message(STATUS "TensorFlow Lite C: ${SEALITE_TFLITE_LIBRARY}")
add_library(sealite::tflite_c SHARED IMPORTED GLOBAL)
set_target_properties(sealite::tflite_c PROPERTIES
  IMPORTED_LOCATION "${SEALITE_TFLITE_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${SEALITE_TFLITE_INCLUDE_DIR}")
get_filename_component(_tfl_libdir "${SEALITE_TFLITE_LIBRARY}" DIRECTORY)
set(CMAKE_BUILD_RPATH "${_tfl_libdir}")
set(CMAKE_INSTALL_RPATH "${_tfl_libdir}")
