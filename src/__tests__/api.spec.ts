import { queryString } from '../api';

describe('queryString', () => {
  it('leaves out undefined and empty values', () => {
    expect(queryString({})).toBe('');
    expect(queryString({ state: undefined, target: '' })).toBe('');
    expect(queryString({ offset: 0, replica: undefined })).toBe('?offset=0');
  });

  it('encodes keys and values', () => {
    expect(queryString({ path: 'dir with space/nb #1.ipynb', limit: 50 })).toBe(
      '?path=dir%20with%20space%2Fnb%20%231.ipynb&limit=50'
    );
    expect(queryString({ state: 'queued,running' })).toBe(
      '?state=queued%2Crunning'
    );
  });
});
