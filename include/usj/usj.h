/* usj/usj.h — umbrella header for libusj, the usjsearch core library. */
#ifndef USJ_USJ_H
#define USJ_USJ_H

#include "error.h"
#include "buf.h"
#include "analyze.h"
#include "para.h"
#include "index.h"
#include "query.h"
#include "remote.h"

#define USJ_VERSION_STRING "0.1.0"

#endif
