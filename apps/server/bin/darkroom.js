#!/usr/bin/env node
// The `darkroom` command. A committed file (executable in git) rather than dist/cli/index.js
// itself: npm links and chmods a bin when it installs, which is before `prepare` builds dist/.
import '../dist/cli/index.js'
