// Umbrella header: the whole xsock::net API.
#pragma once

#include "xsock/endpoint.hpp"
#include "xsock/error.hpp"
#include "xsock/listener.hpp"
#include "xsock/resolve.hpp"
#include "xsock/stream_socket.hpp"
