from emgse.cli import main

raise SystemExit(main())
