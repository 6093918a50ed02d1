import { countLabel } from '../jobs/model';

describe('countLabel', () => {
  it('shows an exact total as is', () => {
    expect(countLabel(0, true)).toBe('0');
    expect(countLabel(1234, true)).toBe('1,234');
  });

  it('marks a capped total as a lower bound', () => {
    expect(countLabel(10000, false)).toBe('10,000+');
  });
});
