from interp_core.cli import main

raise SystemExit(main())
