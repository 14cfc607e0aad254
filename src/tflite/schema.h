// The generated object API of our .tflite schema (namespace sealite::tfl).
#pragma once
#include "tflite/tflite_generated.h"
