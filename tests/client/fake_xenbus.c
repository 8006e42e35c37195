/* placeholder */
#include "client.h"
