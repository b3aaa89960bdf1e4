"""Credit providers behind one interface: sandbox, Alipay, WeChat Pay."""
