// Umbrella header: the whole xsock::text API (link xsock::text).
#pragma once

#include "xsock/decoder.hpp"
#include "xsock/default_encoding.hpp"
#include "xsock/encoder.hpp"
#include "xsock/encodings.hpp"
#include "xsock/line_splitter.hpp"
#include "xsock/terminal_escape.hpp"
#include "xsock/text_error.hpp"
