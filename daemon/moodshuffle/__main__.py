from moodshuffle.cli import main

raise SystemExit(main())
