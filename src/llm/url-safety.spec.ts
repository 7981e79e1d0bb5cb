import { lookup } from 'node:dns/promises';
import { assertSafeUpstreamUrl, ipProblem, UnsafeUrlError, validateUpstreamUrlSyntax } from 'src/llm/url-safety';

jest.mock('node:dns/promises', () => ({ lookup: jest.fn() }));
const mockedLookup = lookup as unknown as jest.Mock;

describe('validateUpstreamUrlSyntax', () => {
  it.each(['https://api.openai.com/v1', 'http://example.com:8080/webhook/abc', 'https://[2001:4860:4860::8888]/'])(
    'accepts public http(s) URL %s',
    (url) => {
      expect(validateUpstreamUrlSyntax(url)).toBeNull();
    },
  );

  it.each(['ftp://example.com/', 'file:///etc/passwd', 'gopher://x/', 'javascript:alert(1)', 'not a url', ''])(
    'refuses non-http(s) or invalid %j',
    (url) => {
      expect(validateUpstreamUrlSyntax(url)).not.toBeNull();
    },
  );

  it('refuses credentials in the URL', () => {
    expect(validateUpstreamUrlSyntax('https://user:pass@example.com/')).toMatch(/credentials/);
  });

  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://169.254.10.1/',
    'http://[fe80::1]/',
    'http://[fd00:ec2::254]/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://METADATA.GOOGLE.INTERNAL./',
    'http://[::ffff:169.254.169.254]/',
    'http://2852039166/', // 169.254.169.254 as a decimal integer
    'http://0xa9fea9fe/',
    'http://224.0.0.1/',
  ])('always refuses link-local and metadata %s, even with allowPrivate', (url) => {
    expect(validateUpstreamUrlSyntax(url, true)).not.toBeNull();
    expect(validateUpstreamUrlSyntax(url, false)).not.toBeNull();
  });

  it.each([
    'http://10.0.0.5/',
    'http://172.16.3.4/',
    'http://172.31.255.255/',
    'http://192.168.1.1/',
    'http://127.0.0.1:3000/',
    'http://127.8.9.10/',
    'http://[::1]/',
    'http://0.0.0.0/',
    'http://[::]/',
    'http://[fc00::1]/',
    'http://[fd12:3456::1]/',
    'http://[::ffff:10.0.0.1]/',
    'http://localhost:11434/',
    'http://api.localhost/',
  ])('refuses private/loopback %s unless allowPrivate', (url) => {
    expect(validateUpstreamUrlSyntax(url, false)).toMatch(/private and loopback/);
    expect(validateUpstreamUrlSyntax(url, true)).toBeNull();
  });

  it('does not confuse 172.32/16 (public) with 172.16/12', () => {
    expect(validateUpstreamUrlSyntax('http://172.32.0.1/', false)).toBeNull();
  });
});

describe('ipProblem', () => {
  it('judges NAT64 and hex IPv4-mapped addresses by the IPv4 they carry', () => {
    expect(ipProblem('64:ff9b::a9fe:a9fe', true)).toMatch(/metadata/);
    expect(ipProblem('::ffff:7f00:1', false)).toMatch(/private/);
    expect(ipProblem('::ffff:8.8.8.8', false)).toBeNull();
  });
});

describe('assertSafeUpstreamUrl', () => {
  beforeEach(() => mockedLookup.mockReset());

  it('accepts a host whose every address is public', async () => {
    mockedLookup.mockResolvedValue([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1::1', family: 6 },
    ]);
    await expect(assertSafeUpstreamUrl('https://example.com/v1', false)).resolves.toBeUndefined();
    expect(mockedLookup).toHaveBeenCalledWith('example.com', { all: true, verbatim: true });
  });

  it('refuses a host that resolves to a metadata address, even with allowPrivate', async () => {
    mockedLookup.mockResolvedValue([{ address: '169.254.169.254', family: 4 }]);
    await expect(assertSafeUpstreamUrl('http://innocent.example/', true)).rejects.toBeInstanceOf(UnsafeUrlError);
  });

  it('refuses a host when any one of its addresses is private', async () => {
    mockedLookup.mockResolvedValue([
      { address: '8.8.8.8', family: 4 },
      { address: '10.1.2.3', family: 4 },
    ]);
    await expect(assertSafeUpstreamUrl('http://mixed.example/', false)).rejects.toThrow(/private/);
    mockedLookup.mockResolvedValue([
      { address: '8.8.8.8', family: 4 },
      { address: '10.1.2.3', family: 4 },
    ]);
    await expect(assertSafeUpstreamUrl('http://mixed.example/', true)).resolves.toBeUndefined();
  });

  it('refuses link-local IPv6 from DNS', async () => {
    mockedLookup.mockResolvedValue([{ address: 'fe80::1%eth0'.split('%')[0], family: 6 }]);
    await expect(assertSafeUpstreamUrl('http://ll.example/', true)).rejects.toThrow(/link-local/);
  });

  it('checks literal IPs without DNS', async () => {
    await expect(assertSafeUpstreamUrl('http://127.0.0.1:9/', true)).resolves.toBeUndefined();
    await expect(assertSafeUpstreamUrl('http://127.0.0.1:9/', false)).rejects.toBeInstanceOf(UnsafeUrlError);
    expect(mockedLookup).not.toHaveBeenCalled();
  });

  it('lets DNS failures through as they are (a connection problem, not a refusal)', async () => {
    mockedLookup.mockRejectedValue(
      Object.assign(new Error('getaddrinfo ENOTFOUND nope.invalid'), { code: 'ENOTFOUND' }),
    );
    await expect(assertSafeUpstreamUrl('http://nope.invalid/', false)).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('refuses a bad scheme before resolving anything', async () => {
    await expect(assertSafeUpstreamUrl('file:///etc/passwd', true)).rejects.toBeInstanceOf(UnsafeUrlError);
    expect(mockedLookup).not.toHaveBeenCalled();
  });
});
